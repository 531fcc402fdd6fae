import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";
import type { AnySchemaObject } from "ajv";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { loadConfig, parseConfig, validateConfig } from "./load.js";
import { configSchema } from "./schema.js";
import { configWarnings } from "./warnings.js";

const samplePath = resolve(dirname(fileURLToPath(import.meta.url)), "../../config.sample.yml");
const KEY = Buffer.alloc(32, 7);
const KEY_B64 = KEY.toString("base64");
const MINIMAL = `
homeserver:
  url: http://hs.test:8008
  domain: example.org
store:
  encryptionKey: ${KEY_B64}
`;

/** The issues a failing parse reports; fails the test if it does not throw a ConfigError. */
function issuesOf(run: () => unknown): ConfigIssue[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}

const issuesFor = (text: string) => issuesOf(() => parseConfig(text, "test.yml"));
const withDelivery = (lines: string) => `${MINIMAL}delivery:\n${lines}\n`;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bridge-config-"));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every key path the schema defines, with its schema. */
function schemaKeys(schema: AnySchemaObject, prefix = ""): Array<[string, AnySchemaObject]> {
  return Object.entries((schema.properties ?? {}) as Record<string, AnySchemaObject>).flatMap(([key, sub]) => {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    return sub.type === "object" ? [[path, sub] as [string, AnySchemaObject], ...schemaKeys(sub, path)] : [[path, sub] as [string, AnySchemaObject]];
  });
}

function valueAt(data: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], data);
}

describe("config.sample.yml", () => {
  const text = readFileSync(samplePath, "utf8");

  it("validates, resolving relative paths against its directory", () => {
    const config = loadConfig(samplePath);
    expect(config.store.path).toBe(resolve(dirname(samplePath), "data/bridge.db"));
    expect(config.store.encryptionKeyBytes).toHaveLength(32);
    expect(configWarnings(config)).toEqual([expect.stringContaining("placeholder")]);
  });

  it("lists every key, each with a comment above it", () => {
    const raw = yaml.load(text);
    const lines = text.split("\n");
    for (const [path] of schemaKeys(configSchema)) {
      expect(valueAt(raw, path), path).not.toBeUndefined();
      const key = path.split(".").at(-1)!;
      const index = lines.findIndex((line) => new RegExp(`^\\s*${key}:`).test(line));
      expect(lines[index - 1]?.trim().startsWith("#"), `comment above ${path}`).toBe(true);
    }
  });

  it("shows the defaults as its values", () => {
    const raw = yaml.load(text);
    for (const [path, schema] of schemaKeys(configSchema)) {
      // The key is the one value that differs: the sample must carry a (placeholder) key to start.
      if (schema.type === "object" || schema.default === undefined || path === "store.encryptionKey") continue;
      expect(valueAt(raw, path), path).toEqual(schema.default);
    }
  });

  it("says how to generate the key", () => {
    expect(text).toContain("openssl rand -base64 32");
  });
});

describe("defaults", () => {
  it("fills in every default around the required keys", () => {
    const config = parseConfig(MINIMAL);
    expect(config).toEqual({
      homeserver: { url: "http://hs.test:8008", domain: "example.org" },
      bridge: { bindAddress: "127.0.0.1", port: 9993, publicUrl: null, role: "all" },
      bot: { displayName: "Webhook bridge", avatarUrl: null },
      permissions: { invite: ["*"], commandPowerLevel: null },
      store: { path: "./data/bridge.db", encryptionKeyBytes: KEY, encryptionKeyFile: null, synchronous: "NORMAL", engine: "sqlite", postgres: { url: null, poolSize: 10 } },
      delivery: {
        timeoutSeconds: 10,
        retries: 5,
        retrySchedule: [2, 10, 60, 300, 1800],
        jitter: 0.2,
        concurrency: 32,
        maxResponseBodyBytes: 4096,
        allowedNetworks: [],
        maxRetryAfterSeconds: 3600,
        disableAfterFailingHours: 72,
        failureNoticeAfterAttempts: 3,
        failureNoticeToOwner: true,
        signingKeyGraceHours: 24,
        retentionDays: 7,
        heldPerHook: 4000,
        heldTotal: 100000,
        heldBytes: 134217728,
        defaultFormat: "hookshot",
        tlsProfiles: new Map(),
      },
      media: { maxBytes: 52428800, includeThumbnail: false, tempDir: expect.stringMatching(/matrix-webhook-bridge-media$/), linkTtlSeconds: 3600 },
      inbound: { maxBodyBytes: 1048576, rateLimitPerMinute: 60, rateLimitBurst: 20, allowIdentityOverride: false, rawPayloadMaxBytes: 16384, avatarMaxBytes: 2097152, postWaitMs: 3000, postConcurrency: 4, postGiveUpHours: 72,
        transformationFunctions: { enabled: false, timeoutMs: 200, memoryBytes: 16777216 } },
      replies: { maxChars: 4000, maxParts: 10, maxBytes: 262144, allowIdentityOverride: false },
      callbacks: { precheck: { secret: null } },
      encryption: { enabled: false, storagePath: "./data/crypto" },
      logging: { level: "info" },
      metrics: { enabled: true },
    });
    expect(configWarnings(config)).toEqual([]);
  });

  it("treats an empty section as absent", () => {
    expect(parseConfig(`${MINIMAL}bridge:\ndelivery:\n`).bridge.port).toBe(9993);
  });

  it("keeps explicit values, including null for the bot's display name", () => {
    const config = parseConfig(`${MINIMAL}bot: {displayName: null}\ndelivery: {retries: 0, jitter: 0}\n`);
    expect(config.bot.displayName).toBeNull();
    expect(config.delivery).toMatchObject({ retries: 0, jitter: 0, timeoutSeconds: 10 });
  });

  it("removes trailing slashes from URLs", () => {
    const config = parseConfig(MINIMAL.replace("8008", "8008/") + "bridge: {publicUrl: 'https://hooks.example.org/'}\n");
    expect(config.homeserver.url).toBe("http://hs.test:8008");
    expect(config.bridge.publicUrl).toBe("https://hooks.example.org");
  });
});

describe("validateConfig", () => {
  const raw = () => ({ homeserver: { url: "http://hs.test", domain: "example.org" }, store: { encryptionKey: KEY_B64, path: ":memory:" } });

  it("accepts a config built in code and does not modify it", () => {
    const input = raw();
    const config = validateConfig(input, "in memory", "/somewhere");
    expect(input).toEqual(raw());
    expect(config.store.path).toBe(":memory:");
    expect(config.delivery.retries).toBe(5);
  });

  it("takes store.engine postgres with a URL, and says that the URL is required, never echoing it", () => {
    const pg = (postgres: Record<string, unknown>) => ({ ...raw(), store: { encryptionKey: KEY_B64, path: ":memory:", engine: "postgres", postgres } });
    expect(validateConfig(pg({ url: "postgres://bridge@db/bridge", poolSize: 4 })).store).toMatchObject({ engine: "postgres", postgres: { url: "postgres://bridge@db/bridge", poolSize: 4 } });
    expect(issuesOf(() => validateConfig(pg({})))).toEqual([{ path: "store.postgres.url", message: expect.stringMatching(/^is required when store.engine is postgres/) }]);
    const bad = issuesOf(() => validateConfig(pg({ url: "mysql://root:hunter2@db/x" })));
    expect(bad.map((issue) => issue.path)).toEqual(["store.postgres.url"]);
    expect(JSON.stringify(bad)).not.toContain("hunter2");
  });

  it("takes bridge.role, and says what a split role needs: the PostgreSQL store, and no encryption yet", () => {
    const pgStore = { encryptionKey: KEY_B64, path: ":memory:", engine: "postgres", postgres: { url: "postgres://bridge@db/bridge" } };
    expect(validateConfig({ ...raw(), bridge: { role: "worker" }, store: pgStore }).bridge.role).toBe("worker");
    expect(validateConfig(raw()).bridge.role).toBe("all");
    expect(issuesOf(() => validateConfig({ ...raw(), bridge: { role: "worker" } }))).toEqual([{ path: "bridge.role", message: expect.stringMatching(/^"worker" needs store.engine: postgres/) }]);
    expect(issuesOf(() => validateConfig({ ...raw(), bridge: { role: "inbound" }, store: pgStore, encryption: { enabled: true } }))).toEqual([
      { path: "bridge.role", message: expect.stringMatching(/^"inbound" cannot be used with encryption.enabled yet/) },
    ]);
    expect(issuesOf(() => validateConfig({ ...raw(), bridge: { role: "everything" } })).map((issue) => issue.path)).toEqual(["bridge.role"]);
  });

  it("warns an appservice process without bridge.publicUrl that its inbound URLs point at itself", () => {
    const pgStore = { encryptionKey: KEY_B64, path: ":memory:", engine: "postgres", postgres: { url: "postgres://bridge@db/bridge" } };
    expect(configWarnings(validateConfig({ ...raw(), bridge: { role: "appservice" }, store: pgStore }))).toEqual([expect.stringMatching(/bridge.publicUrl is not set/)]);
    expect(configWarnings(validateConfig({ ...raw(), bridge: { role: "appservice", publicUrl: "https://hooks.example.org" }, store: pgStore }))).toEqual([]);
    expect(configWarnings(validateConfig({ ...raw(), bridge: { role: "worker" }, store: pgStore }))).toEqual([]);
  });

  it("lets --role override bridge.role, validated as if written in the file", () => {
    const text = `homeserver: {url: "http://hs.test:8008", domain: example.org}\nstore: {encryptionKey: "${KEY_B64}", engine: postgres, postgres: {url: "postgres://bridge@db/bridge"}}\nbridge: {role: appservice}\n`;
    expect(parseConfig(text).bridge.role).toBe("appservice");
    expect(parseConfig(text, undefined, undefined, { role: "worker" }).bridge.role).toBe("worker");
    expect(() => parseConfig(text.replace("engine: postgres, ", ""), "c.yml", undefined, { role: "worker" })).toThrow(/bridge.role/);
  });

  it("resolves a relative store path against baseDir", () => {
    expect(validateConfig({ ...raw(), store: { encryptionKey: KEY_B64, path: "db/b.db" } }, undefined, "/srv").store.path).toBe("/srv/db/b.db");
  });
});

describe("errors name the key path", () => {
  it("wrong type", () => {
    expect(issuesFor(withDelivery("  retries: five"))).toEqual([
      { path: "delivery.retries", message: 'must be an integer between 0 and 100 (got "five")' },
    ]);
  });

  it("out of range", () => {
    expect(issuesFor(withDelivery("  jitter: 1.5\n  retrySchedule: [1, 0]"))).toEqual([
      { path: "delivery.retrySchedule[1]", message: "must be a number > 0 and <= 604800 (got 0)" },
      { path: "delivery.jitter", message: "must be a number between 0 and 1 (got 1.5)" },
    ]);
  });

  it("an empty retry schedule", () => {
    expect(issuesFor(withDelivery("  retrySchedule: []"))).toEqual([
      { path: "delivery.retrySchedule", message: expect.stringMatching(/^must be a list with at least 1 entry, each entry a number > 0.* \(got \[\]\)$/) },
    ]);
  });

  it("unknown key, with a suggestion", () => {
    expect(issuesFor(withDelivery("  retrys: 3\n  retry_schedule: [1]"))).toEqual([
      { path: "delivery.retrys", message: 'unknown key (did you mean "retries"?)' },
      { path: "delivery.retry_schedule", message: 'unknown key (did you mean "retrySchedule"?)' },
    ]);
  });

  it("unknown key, with the known ones when nothing is close", () => {
    expect(issuesFor(`${MINIMAL}metrics: {prometheus: true}\n`)).toEqual([
      { path: "metrics.prometheus", message: "unknown key (expected one of: enabled)" },
    ]);
  });

  it("missing required keys", () => {
    expect(issuesFor(`homeserver: {url: http://hs.test}\nstore: {encryptionKey: ${KEY_B64}}\n`)).toEqual([
      { path: "homeserver.domain", message: expect.stringMatching(/^is required \(expected a server name/) },
    ]);
    expect(issuesFor(`store: {encryptionKey: ${KEY_B64}}\n`)).toEqual([{ path: "homeserver", message: expect.stringMatching(/^is required/) }]);
  });

  it("URLs that do not parse or are not http(s)", () => {
    const issues = issuesFor(MINIMAL.replace("http://hs.test:8008", "hs.test:8008") + "bridge: {publicUrl: 'ftp://x.org'}\nbot: {avatarUrl: 'https://x.org/a.png'}\n");
    expect(issues.map((issue) => issue.path)).toEqual(["homeserver.url", "bridge.publicUrl", "bot.avatarUrl"]);
    expect(issues[0]!.message).toBe('must be an http(s) URL such as https://matrix.example.org (got "hs.test:8008")');
    expect(issues[2]!.message).toMatch(/^must be an mxc:\/\/ URI .* or null \(got "https:\/\/x.org\/a.png"\)$/);
  });

  it("bad CIDR", () => {
    expect(issuesFor(withDelivery('  allowedNetworks: ["127.0.0.1/32", "fd00::/8", "10.0.0.1", "10.0.0.0/33", "nonsense/8"]'))).toEqual(
      ["[2]", "[3]", "[4]"].map((index) => ({
        path: `delivery.allowedNetworks${index}`,
        message: expect.stringMatching(/^must be a CIDR range such as 127\.0\.0\.1\/32/),
      })),
    );
  });

  it("bad invite entries", () => {
    expect(issuesFor(`${MINIMAL}permissions: {invite: ["*", "example.org:8448", "@a:b.org", "@bob", "not a server"]}\n`).map((i) => i.path)).toEqual([
      "permissions.invite[3]",
      "permissions.invite[4]",
    ]);
  });

  it("several errors at once, across sections", () => {
    const issues = issuesFor(`
homeserver: {url: http://hs.test}
bridge: {port: 70000}
logging: {level: verbose}
store: {encryptionKey: ${KEY_B64}, encryptionKeyFile: ./key}
`);
    expect(issues.map((issue) => issue.path)).toEqual(["homeserver.domain", "bridge.port", "logging.level", "store"]);
  });

  it("the error message lists every issue under the source", () => {
    const error = (() => {
      try {
        parseConfig(withDelivery("  retries: -1\n  concurrency: 0"), "/etc/bridge.yml");
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error?.message).toBe(
      [
        "Invalid configuration in /etc/bridge.yml (2 problems):",
        "  - delivery.retries: must be an integer between 0 and 100 (got -1)",
        "  - delivery.concurrency: must be an integer between 1 and 10000 (got 0)",
      ].join("\n"),
    );
  });
});

describe("the store key", () => {
  const withStore = (store: string) => `homeserver: {url: http://hs.test, domain: example.org}\nstore: ${store}\n`;

  it("both set", () => {
    expect(issuesFor(withStore(`{encryptionKey: ${KEY_B64}, encryptionKeyFile: /k}`))).toEqual([
      { path: "store", message: expect.stringContaining("both set") },
    ]);
  });

  it("neither set", () => {
    expect(issuesFor(withStore("{}"))).toEqual([{ path: "store", message: expect.stringContaining("openssl rand -base64 32") }]);
    expect(issuesFor("homeserver: {url: http://hs.test, domain: example.org}\n")).toEqual([
      { path: "store", message: expect.stringMatching(/^one of encryptionKey or encryptionKeyFile is required/) },
    ]);
  });

  it("wrong length", () => {
    expect(issuesFor(withStore(`{encryptionKey: ${Buffer.alloc(16).toString("base64")}}`))).toEqual([
      { path: "store.encryptionKey", message: expect.stringMatching(/^decodes to 16 bytes, expected 32/) },
    ]);
  });

  it("not base64, without echoing the secret", () => {
    const issues = issuesFor(withStore("{encryptionKey: 'hunter2 hunter2'}"));
    expect(issues).toEqual([{ path: "store.encryptionKey", message: expect.stringMatching(/^is not valid base64/) }]);
    expect(issues[0]!.message).not.toContain("hunter2");
    expect(issuesFor(withStore("{encryptionKey: 12345}"))[0]!.message).toBe("must be a string or null (got a number)");
  });

  it("from a file, relative to the config file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "store.key"), `${KEY_B64}\n`);
    writeFileSync(join(dir, "config.yml"), withStore("{encryptionKeyFile: store.key, path: bridge.db}"));
    const config = loadConfig(join(dir, "config.yml"));
    expect(config.store).toEqual({ path: join(dir, "bridge.db"), encryptionKeyBytes: KEY, encryptionKeyFile: join(dir, "store.key"), synchronous: "NORMAL", engine: "sqlite", postgres: { url: null, poolSize: 10 } });
  });

  it("a key file that is missing or holds a bad key", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "short.key"), "c2hvcnQ=\n");
    writeFileSync(join(dir, "a.yml"), withStore("{encryptionKeyFile: missing.key}"));
    writeFileSync(join(dir, "b.yml"), withStore("{encryptionKeyFile: short.key}"));
    expect(issuesOf(() => loadConfig(join(dir, "a.yml")))).toEqual([
      { path: "store.encryptionKeyFile", message: `cannot read ${join(dir, "missing.key")}: no such file` },
    ]);
    expect(issuesOf(() => loadConfig(join(dir, "b.yml")))).toEqual([
      { path: "store.encryptionKeyFile", message: expect.stringMatching(/short\.key decodes to 5 bytes, expected 32/) },
    ]);
  });
});

describe("documents that are not a config", () => {
  it("YAML syntax error, with line and column", () => {
    const [issue, ...rest] = issuesFor(`${MINIMAL}delivery:\n  retries: 5\n   jitter: [0.2\n`);
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ path: "", line: 9, column: 10, message: expect.stringMatching(/^YAML syntax error at line 9, column 10: bad indentation/) });
    // The snippet of the surrounding lines never shows the store key.
    expect(issue!.message).toContain("encryptionKey: [hidden]");
    expect(issue!.message).not.toContain(KEY_B64.slice(0, 8));
  });

  it("duplicate keys", () => {
    expect(issuesFor(`${MINIMAL}metrics: {enabled: true}\nmetrics: {enabled: false}\n`)[0]!.message).toMatch(/line 8, column 1: duplicated mapping key/);
  });

  it("an empty file or one with only comments", () => {
    for (const text of ["", "# nothing here\n"]) {
      expect(issuesFor(text)).toEqual([{ path: "", message: expect.stringMatching(/^the configuration is empty/) }]);
    }
  });

  it("a top level that is not a mapping", () => {
    expect(issuesFor("- a\n- b\n")).toEqual([{ path: "", message: expect.stringMatching(/must be a mapping .* got a list$/) }]);
    expect(issuesFor("just text\n")[0]!.message).toMatch(/got string "just text"$/);
  });

  it("a config file that does not exist", () => {
    const missing = join(tempDir(), "nope.yml");
    expect(issuesOf(() => loadConfig(missing))).toEqual([
      { path: "", message: `cannot read config file ${missing}: no such file (start from config.sample.yml)` },
    ]);
  });
});

describe("delivery.defaultFormat", () => {
  it("takes a format name", () => {
    expect(parseConfig(withDelivery("  defaultFormat: hookshot-multipart")).delivery.defaultFormat).toBe("hookshot-multipart");
    expect(parseConfig(withDelivery("  defaultFormat: json")).delivery.defaultFormat).toBe("json");
  });

  it("refuses anything else, naming the formats", () => {
    expect(issuesFor(withDelivery("  defaultFormat: multipart"))).toEqual([
      { path: "delivery.defaultFormat", message: 'must be one of "hookshot", "hookshot-multipart", "json" (got "multipart")' },
    ]);
  });
});

// Keys of a config file come from outside: none may reach Object.prototype.
const PROTOTYPE_NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"])];

describe("names of Object.prototype in a config file", () => {
  it.each(PROTOTYPE_NAMES)("a top-level key %s is an unknown key, even when left empty", (name) => {
    for (const value of ["", " null", " 1", " {}"]) {
      const issues = issuesFor(`${MINIMAL}${JSON.stringify(name)}:${value}\n`);
      expect(issues, `${name}:${value}`).toEqual([{ path: expect.stringContaining(name), message: expect.stringMatching(/^unknown key/) }]);
    }
  });

  it.each(PROTOTYPE_NAMES)("a key %s inside a section is an unknown key", (name) => {
    expect(issuesFor(withDelivery(`  ${JSON.stringify(name)}: 1`))).toEqual([{ path: expect.stringContaining(name), message: expect.stringMatching(/^unknown key/) }]);
  });

  it.each(PROTOTYPE_NAMES)("delivery.defaultFormat: %s is refused", (name) => {
    expect(issuesFor(withDelivery(`  defaultFormat: ${JSON.stringify(name)}`))).toEqual([
      { path: "delivery.defaultFormat", message: expect.stringMatching(/^must be one of "hookshot"/) },
    ]);
  });
});

describe("callbacks.precheck", () => {
  it("reads the module's secret from the config or a file, and refuses both or a short one", () => {
    const dir = mkdtempSync(join(tmpdir(), "mwb-precheck-"));
    const file = join(dir, "precheck.secret");
    writeFileSync(file, "  0123456789abcdef0123  \n");
    expect(parseConfig(`${MINIMAL}callbacks:\n  precheck:\n    secretFile: ${file}\n`).callbacks.precheck.secret).toBe("0123456789abcdef0123");
    expect(parseConfig(`${MINIMAL}callbacks:\n  precheck:\n    secret: "0123456789abcdef"\n`).callbacks.precheck.secret).toBe("0123456789abcdef");
    expect(() => parseConfig(`${MINIMAL}callbacks:\n  precheck:\n    secret: "0123456789abcdef"\n    secretFile: ${file}\n`)).toThrow(/callbacks\.precheck: secret and secretFile are both set/);
    expect(() => parseConfig(`${MINIMAL}callbacks:\n  precheck:\n    secret: short\n`)).toThrow(/callbacks\.precheck\.secret/);
    writeFileSync(file, "short\n");
    expect(() => parseConfig(`${MINIMAL}callbacks:\n  precheck:\n    secretFile: ${file}\n`)).toThrow(/shorter than 16 characters/);
    rmSync(dir, { recursive: true, force: true });
  });
});
