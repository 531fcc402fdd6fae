// An EncryptedFile as a Matrix client makes one (AES-256-CTR, SHA-256 of the ciphertext, JWK key).
import { createCipheriv, createHash, randomBytes } from "node:crypto";

export function encryptAttachment(plain: Buffer) {
  const key = randomBytes(32);
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv("aes-256-ctr", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const file = (url: string) => ({
    url,
    key: { kty: "oct", alg: "A256CTR", key_ops: ["encrypt", "decrypt"], k: key.toString("base64url"), ext: true },
    iv: iv.toString("base64").replace(/=+$/, ""),
    hashes: { sha256: createHash("sha256").update(ciphertext).digest("base64").replace(/=+$/, "") },
    v: "v2",
  });
  return { ciphertext, file };
}
