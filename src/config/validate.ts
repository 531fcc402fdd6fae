import { join, resolve } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { tmpdir } from "node:os";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { FORMATS } from "./formats.js";
import { issuesFromAjv } from "./issues.js";
import { resolveEncryptionKey } from "./key.js";
import { resolvePrecheckSecret } from "./precheck-secret.js";
import { loadTlsProfiles, type TlsProfileFiles } from "./tls-profiles.js";
import { configSchema } from "./schema.js";
import type { BridgeConfig } from "./types.js";

/** What the schema guarantees once validation passed; the store key is still text. */
type SchemaValid = Omit<BridgeConfig, "store" | "media" | "callbacks" | "delivery"> & {
  callbacks: { precheck: { secret: string | null; secretFile: string | null } };
  delivery: Omit<BridgeConfig["delivery"], "tlsProfiles"> & { tlsProfiles: Record<string, TlsProfileFiles> };
  store: { path: string; encryptionKey: string | null; encryptionKeyFile: string | null; synchronous: "NORMAL" | "FULL"; engine: "sqlite" | "postgres"; postgres: { url: string | null; poolSize: number } };
  media: Omit<BridgeConfig["media"], "tempDir"> & { tempDir: string | null };
};

/**
 * Validates configuration data (parsed YAML, or an object built in code), fills in defaults,
 * resolves relative store paths against `baseDir` (when given) and decodes the store key.
 * Throws ConfigError listing every problem at once. The input is not modified.
 */
export function validateConfig(raw: unknown, source?: string, baseDir?: string): BridgeConfig {
  const data = topLevelMapping(raw, source);
  const validate = compiledSchema();
  const issues: ConfigIssue[] = validate(data) ? [] : issuesFromAjv(validate.errors ?? []);
  const resolvePath = (path: string): string => (baseDir === undefined || path === ":memory:" ? path : resolve(baseDir, path));

  const store = data.store as Record<string, unknown>;
  const keyFile = typeof store?.encryptionKeyFile === "string" ? resolvePath(store.encryptionKeyFile) : null;
  let key: Buffer | undefined;
  if (!issues.some((issue) => issue.path === "store" || issue.path.startsWith("store.encryptionKey"))) {
    const resolved = resolveEncryptionKey({ encryptionKey: (store.encryptionKey as string | null) ?? null, encryptionKeyFile: keyFile });
    if (Buffer.isBuffer(resolved)) key = resolved;
    else issues.push(resolved);
  }
  const precheck = (data.callbacks as { precheck?: { secret?: unknown; secretFile?: unknown } } | undefined)?.precheck;
  let precheckSecret: string | null = null;
  if (!issues.some((issue) => issue.path.startsWith("callbacks"))) {
    const resolved = resolvePrecheckSecret((precheck?.secret as string | null) ?? null, typeof precheck?.secretFile === "string" ? resolvePath(precheck.secretFile) : null);
    if (typeof resolved === "string" || resolved === null) precheckSecret = resolved;
    else issues.push(resolved);
  }
  // Profiles' files are read only once their shape is right (a typo'd key is reported, not read).
  const delivery = data.delivery as Record<string, unknown> | undefined;
  let tlsProfiles = new Map() as BridgeConfig["delivery"]["tlsProfiles"];
  if (!issues.some((issue) => issue.path.startsWith("delivery.tlsProfiles") || issue.path === "delivery") && delivery?.tlsProfiles) {
    const loaded = loadTlsProfiles(delivery.tlsProfiles as Record<string, TlsProfileFiles>, resolvePath);
    issues.push(...loaded.issues);
    tlsProfiles = loaded.profiles;
  }
  const postgres = store?.postgres as { url?: unknown } | undefined;
  if (store?.engine === "postgres" && (postgres?.url === undefined || postgres.url === null)) {
    issues.push({ path: "store.postgres.url", message: "is required when store.engine is postgres (e.g. postgres://bridge@db.example.org/bridge; a password can come from PGPASSWORD or ~/.pgpass instead)" });
  }
  issues.push(...roleIssues(data));
  if (issues.length > 0 || key === undefined) throw new ConfigError(issues, source);

  const valid = data as unknown as SchemaValid;
  return {
    ...valid,
    homeserver: { ...valid.homeserver, url: withoutTrailingSlash(valid.homeserver.url) },
    bridge: { ...valid.bridge, publicUrl: valid.bridge.publicUrl === null ? null : withoutTrailingSlash(valid.bridge.publicUrl) },
    delivery: { ...valid.delivery, tlsProfiles },
    store: {
      path: resolvePath(valid.store.path), encryptionKeyBytes: key, encryptionKeyFile: keyFile, synchronous: valid.store.synchronous,
      engine: valid.store.engine, postgres: { ...valid.store.postgres },
    },
    callbacks: { precheck: { secret: precheckSecret } },
    encryption: { ...valid.encryption, storagePath: resolvePath(valid.encryption.storagePath) },
    media: { ...valid.media, tempDir: valid.media.tempDir === null ? join(tmpdir(), "matrix-webhook-bridge-media") : resolvePath(valid.media.tempDir) },
  };
}

/** A role other than all splits the bridge between processes, which share their queue in PostgreSQL. */
function roleIssues(data: Record<string, unknown>): ConfigIssue[] {
  const role = (data.bridge as { role?: unknown } | undefined)?.role;
  if (role !== "appservice" && role !== "worker" && role !== "inbound") return [];
  const issues: ConfigIssue[] = [];
  if ((data.store as { engine?: unknown } | undefined)?.engine !== "postgres") {
    issues.push({ path: "bridge.role", message: `${JSON.stringify(role)} needs store.engine: postgres (the processes share their delivery queue there); with the SQLite queue one process does everything (role: all)` });
  }
  if ((data.encryption as { enabled?: unknown } | undefined)?.enabled === true) {
    issues.push({ path: "bridge.role", message: `${JSON.stringify(role)} cannot be used with encryption.enabled yet: a room's keys reach one process only; run one process with role: all` });
  }
  return issues;
}

/** A private copy of the top-level mapping; sections left empty in YAML (`bridge:`) count as absent. */
function topLevelMapping(raw: unknown, source: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw === null) {
    throw new ConfigError(
      [{ path: "", message: "the configuration is empty; it needs at least homeserver.url, homeserver.domain and store.encryptionKey (see config.sample.yml)" }],
      source,
    );
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    const got = Array.isArray(raw) ? "a list" : `${typeof raw} ${JSON.stringify(raw)}`;
    throw new ConfigError([{ path: "", message: `the top level must be a mapping of sections (homeserver:, store:, ...), got ${got}` }], source);
  }
  let copy: Record<string, unknown>;
  try {
    copy = structuredClone(raw) as Record<string, unknown>;
  } catch {
    throw new ConfigError([{ path: "", message: "the configuration must be plain data (no functions or class instances)" }], source);
  }
  for (const [name, value] of Object.entries(copy)) {
    // Own keys only: `constructor:` left empty must stay an unknown key, not pass as a section.
    if (value === null && Object.hasOwn(configSchema.properties, name)) delete copy[name];
  }
  return copy;
}

let compiled: ValidateFunction | undefined;

function compiledSchema(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
    for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, { type: "string", validate: format.validate });
    compiled = ajv.compile(configSchema);
  }
  return compiled;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
