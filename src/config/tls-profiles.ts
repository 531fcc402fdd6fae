import { readFileSync } from "node:fs";
import { tlsMaterial, tlsProblems, type TlsMaterial, type TlsParts } from "../delivery/tls-material.js";
import type { ConfigIssue } from "./errors.js";
import { joinPath } from "./issues.js";
import { describeFsError } from "./key.js";

/** `delivery.tlsProfiles.<name>` as written: file names (relative ones resolve against the config's directory). */
export interface TlsProfileFiles {
  ca?: string;
  cert?: string;
  key?: string;
  passphraseFile?: string;
}

/** A profile read and checked at start: what hooks naming it (state field `tls_profile`) send with. */
export interface TlsProfile {
  name: string;
  /** The files it was read from, resolved. */
  files: TlsProfileFiles;
  parts: TlsParts;
  material: TlsMaterial;
}

export const TLS_PROFILE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

/** Schema of one profile (see schema.ts). */
export const tlsProfileSchema = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    ca: { type: "string", minLength: 1 },
    cert: { type: "string", minLength: 1 },
    key: { type: "string", minLength: 1 },
    passphraseFile: { type: "string", minLength: 1 },
  },
} as const;

/**
 * Reads every profile's files and checks them (PEM parses, the key opens, certificate and key
 * match, neither without the other). Problems name the profile's key path; keys' contents never
 * appear in them.
 */
export function loadTlsProfiles(raw: Readonly<Record<string, TlsProfileFiles>>, resolvePath: (path: string) => string): { profiles: Map<string, TlsProfile>; issues: ConfigIssue[] } {
  const profiles = new Map<string, TlsProfile>();
  const issues: ConfigIssue[] = [];
  for (const [name, written] of Object.entries(raw)) {
    const at = joinPath("delivery.tlsProfiles", name);
    const files: TlsProfileFiles = Object.fromEntries(Object.entries(written).map(([k, v]) => [k, resolvePath(v)]));
    const read = (key: keyof TlsProfileFiles): string | null => {
      const file = files[key];
      if (file === undefined) return null;
      try {
        return readFileSync(file, "utf8");
      } catch (error) {
        issues.push({ path: `${at}.${key}`, message: `cannot read ${file}: ${describeFsError(error)}` });
        return null;
      }
    };
    const before = issues.length;
    const passphrase = read("passphraseFile");
    const parts: TlsParts = { ca: read("ca"), cert: read("cert"), key: read("key"), passphrase: passphrase === null ? null : passphrase.replace(/\r?\n$/, "") };
    if (issues.length > before) continue;
    for (const problem of tlsProblems(parts)) {
      const key = problem.part === "passphrase" ? "passphraseFile" : problem.part;
      const file = files[key];
      issues.push({ path: `${at}.${key}`, message: file ? `${problem.message} (${file})` : problem.message });
    }
    if (issues.length > before) continue;
    profiles.set(name, { name, files, parts, material: tlsMaterial(parts)! });
  }
  return { profiles, issues };
}
