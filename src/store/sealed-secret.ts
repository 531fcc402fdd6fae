import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

// Secrets at rest: AES-256-GCM, stored as version byte | 12-byte nonce | 16-byte tag | ciphertext.
const VERSION = 1;

export function sealSecret(key: Buffer, plaintext: string): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
}

export function openSecret(key: Buffer, sealed: Buffer): string {
  if (sealed.length < 29 || sealed[0] !== VERSION) {
    throw new Error("Stored secret has an unknown format");
  }
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(1, 13));
  decipher.setAuthTag(sealed.subarray(13, 29));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("Stored secret cannot be decrypted: store.encryptionKey differs from the key it was sealed with");
  }
}

/** A fresh random token with 256 bits of entropy, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}
