// The appservice registration file: generated once by the admin, read by both Synapse and the bridge.
import { readFile, writeFile } from "node:fs/promises";
import * as yaml from "js-yaml";
import { AppServiceRegistration, type AppServiceOutput } from "matrix-appservice-bridge";

export const DEFAULT_REGISTRATION_ID = "webhook-bridge";
export const DEFAULT_SENDER_LOCALPART = "webhooks";
export const DEFAULT_USER_PREFIX = "webhook_";

export interface LoadedRegistration {
  id: string;
  hsToken: string;
  asToken: string;
  senderLocalpart: string;
  url: string;
  userNamespaceRegexes: string[];
  /** The whole file as parsed, for AppServiceRegistration.fromObject. */
  raw: AppServiceOutput;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * What end-to-end encryption needs in the registration (names as Synapse 1.163 reads them): to-device
 * events and ephemeral events (MSC2409), device lists and one-time-key counts (MSC3202), and
 * devices made by the appservice, which then cannot log in (MSC4190).
 */
export const ENCRYPTION_REGISTRATION_KEYS = {
  receive_ephemeral: true,
  "de.sorunome.msc2409.push_ephemeral": true,
  "org.matrix.msc3202": true,
  "io.element.msc4190": true,
} as const;

/** The keys encryption needs that the registration lacks (either MSC2409 name will do). */
export function missingEncryptionKeys(raw: Record<string, unknown>): string[] {
  const missing: string[] = [];
  if (raw.receive_ephemeral !== true && raw["de.sorunome.msc2409.push_ephemeral"] !== true) missing.push("receive_ephemeral: true");
  if (raw["org.matrix.msc3202"] !== true) missing.push("org.matrix.msc3202: true");
  if (raw["io.element.msc4190"] !== true) missing.push("io.element.msc4190: true");
  return missing;
}

export function generateRegistration(opts: {
  id?: string;
  url: string;
  senderLocalpart?: string;
  userPrefix?: string;
  /** Adds ENCRYPTION_REGISTRATION_KEYS. */
  encryption?: boolean;
}): AppServiceOutput {
  const reg = new AppServiceRegistration(opts.url);
  reg.setId(opts.id ?? DEFAULT_REGISTRATION_ID);
  reg.setHomeserverToken(AppServiceRegistration.generateToken());
  reg.setAppServiceToken(AppServiceRegistration.generateToken());
  reg.setSenderLocalpart(opts.senderLocalpart ?? DEFAULT_SENDER_LOCALPART);
  // Exclusive: nobody else may register or act as our ghosts.
  reg.addRegexPattern("users", `@${escapeRegex(opts.userPrefix ?? DEFAULT_USER_PREFIX)}.*:.*`, true);
  // Webhook bursts must not be throttled by the homeserver.
  reg.setRateLimited(false);
  const output = reg.getOutput();
  return opts.encryption ? { ...output, ...ENCRYPTION_REGISTRATION_KEYS } : output;
}

/** Written 0600: the file holds both tokens. */
export async function writeRegistrationFile(path: string, reg: AppServiceOutput | object): Promise<void> {
  await writeFile(path, yaml.dump(reg), { mode: 0o600 });
}

export async function loadRegistration(path: string): Promise<LoadedRegistration> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new Error(`registration file ${path} does not exist (generate it with --generate-registration)`);
    }
    throw new Error(`registration file ${path} cannot be read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new Error(`registration file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error(`registration file ${path} must be a YAML mapping`);
  }
  const r = doc as Record<string, unknown>;
  const str = (key: string): string => {
    const v = r[key];
    if (typeof v !== "string" || v.length === 0) {
      throw new Error(`registration file ${path}: '${key}' is missing or not a string`);
    }
    return v;
  };
  const users = (r.namespaces as { users?: unknown } | undefined)?.users;
  const userNamespaceRegexes = Array.isArray(users)
    ? users.map((u, i) => {
        const regex = (u as { regex?: unknown } | null)?.regex;
        if (typeof regex !== "string") throw new Error(`registration file ${path}: namespaces.users[${i}].regex is not a string`);
        return regex;
      })
    : [];
  return {
    id: str("id"),
    hsToken: str("hs_token"),
    asToken: str("as_token"),
    senderLocalpart: str("sender_localpart"),
    url: str("url"),
    userNamespaceRegexes,
    raw: r as unknown as AppServiceOutput,
  };
}
