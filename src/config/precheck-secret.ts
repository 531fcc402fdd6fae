import { readFileSync } from "node:fs";
import type { ConfigIssue } from "./errors.js";
import { describeFsError } from "./key.js";

const MIN_SECRET_LENGTH = 16;

/** At most one of `callbacks.precheck.secret` / `secretFile` (already resolved), as the secret's text; null when neither is set. */
export function resolvePrecheckSecret(secret: string | null, secretFile: string | null): string | null | ConfigIssue {
  if (secret !== null && secretFile !== null) return { path: "callbacks.precheck", message: "secret and secretFile are both set; keep one of them" };
  if (secretFile === null) return secret;
  let text: string;
  try {
    text = readFileSync(secretFile, "utf8").trim();
  } catch (error) {
    return { path: "callbacks.precheck.secretFile", message: `cannot read ${secretFile}: ${describeFsError(error)}` };
  }
  if (text.length < MIN_SECRET_LENGTH) return { path: "callbacks.precheck.secretFile", message: `the secret in ${secretFile} is shorter than ${MIN_SECRET_LENGTH} characters; generate one with \`openssl rand -hex 32\`` };
  return text;
}
