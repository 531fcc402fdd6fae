import { createHmac, randomBytes } from "node:crypto";

/** The secret in an inbound hook's URL: 128 random bits, base64url (22 characters). */
export function newInboundSecret(): string {
  return randomBytes(16).toString("base64url");
}

/** Cheap shape check, so a junk URL is refused before any store lookup. */
export function isInboundSecretShape(value: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(value);
}

/**
 * What the store keeps instead of the secret: a keyed hash, so it can be looked up by index but a
 * copied database (without the store key) reveals nothing and cannot check guesses.
 */
export function hashInboundSecret(key: Buffer, secret: string): Buffer {
  return createHmac("sha256", key).update(secret, "utf8").digest();
}
