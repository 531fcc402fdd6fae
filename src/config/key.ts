import { readFileSync } from "node:fs";
import type { ConfigIssue } from "./errors.js";

/** The store key: base64 of exactly 32 bytes (AES-256). */
export const ENCRYPTION_KEY_BYTES = 32;

/** The placeholder key in config.sample.yml. It validates, but must never protect real secrets. */
export const SAMPLE_ENCRYPTION_KEY = "Q0hBTkdFLU1FLWdlbmVyYXRlLWEtbmV3LWtleS0hISE=";

const HOW_TO_GENERATE = "generate one with `openssl rand -base64 32`";

/** Decodes a base64 key; a string says what is wrong with it. Surrounding whitespace is ignored. */
export function decodeEncryptionKey(text: string): Buffer | string {
  const trimmed = text.trim();
  if (trimmed === "") return `is empty; ${HOW_TO_GENERATE}`;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) {
    return `is not valid base64; expected base64 of ${ENCRYPTION_KEY_BYTES} bytes (44 characters); ${HOW_TO_GENERATE}`;
  }
  const key = Buffer.from(trimmed, "base64");
  if (key.length !== ENCRYPTION_KEY_BYTES) {
    return `decodes to ${key.length} bytes, expected ${ENCRYPTION_KEY_BYTES}; ${HOW_TO_GENERATE}`;
  }
  return key;
}

export interface StoreKeyInput {
  encryptionKey: string | null;
  /** Already resolved to where it will be read. */
  encryptionKeyFile: string | null;
}

/** Exactly one of `store.encryptionKey` / `store.encryptionKeyFile`, decoded to 32 bytes. */
export function resolveEncryptionKey(input: StoreKeyInput): Buffer | ConfigIssue {
  const { encryptionKey, encryptionKeyFile } = input;
  if (encryptionKey !== null && encryptionKeyFile !== null) {
    return { path: "store", message: "encryptionKey and encryptionKeyFile are both set; keep exactly one of them" };
  }
  if (encryptionKey !== null) {
    const key = decodeEncryptionKey(encryptionKey);
    return typeof key === "string" ? { path: "store.encryptionKey", message: key } : key;
  }
  if (encryptionKeyFile !== null) {
    let text: string;
    try {
      text = readFileSync(encryptionKeyFile, "utf8");
    } catch (error) {
      return { path: "store.encryptionKeyFile", message: `cannot read ${encryptionKeyFile}: ${describeFsError(error)}` };
    }
    const key = decodeEncryptionKey(text);
    return typeof key === "string" ? { path: "store.encryptionKeyFile", message: `the key in ${encryptionKeyFile} ${key}` } : key;
  }
  return {
    path: "store",
    message: `one of encryptionKey or encryptionKeyFile is required (base64 of ${ENCRYPTION_KEY_BYTES} bytes; ${HOW_TO_GENERATE})`,
  };
}

/** "no such file", "permission denied" … from a Node fs error. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
