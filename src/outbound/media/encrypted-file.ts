import { createDecipheriv, createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** Matrix EncryptedFile (attachment encryption v2): AES-256-CTR, key as a JWK, sha256 of the ciphertext. */
export interface EncryptedFileInfo {
  url: string;
  key: { kty: string; alg: string; key_ops: string[]; k: string; ext: boolean };
  iv: string;
  hashes: { sha256: string };
  v: string;
}

export class MediaError extends Error {
  constructor(
    readonly code: "bad_key" | "hash_mismatch" | "too_large" | "not_found" | "download_failed" | "unsupported",
    message: string,
  ) {
    super(message);
    this.name = "MediaError";
  }
}

const b64 = (s: string): Buffer => Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");

/** Checks the EncryptedFile fields a decryption needs; returns the key and iv bytes. */
export function checkEncryptedFile(file: unknown): { info: EncryptedFileInfo; key: Buffer; iv: Buffer; sha256: Buffer } {
  const f = file as Partial<EncryptedFileInfo> | null;
  const bad = (why: string): never => {
    throw new MediaError("bad_key", `invalid EncryptedFile: ${why}`);
  };
  if (!f || typeof f !== "object") return bad("not an object");
  if (typeof f.url !== "string" || !f.url.startsWith("mxc://")) bad("url must be an mxc:// URI");
  if (f.v !== "v2") bad(`unsupported version ${JSON.stringify(f.v)} (only v2)`);
  const jwk = f.key;
  if (!jwk || typeof jwk !== "object") return bad("key is missing");
  if (jwk.kty !== "oct") bad(`key.kty must be "oct", not ${JSON.stringify(jwk.kty)}`);
  if (jwk.alg !== "A256CTR") bad(`key.alg must be "A256CTR", not ${JSON.stringify(jwk.alg)}`);
  if (jwk.ext !== true) bad("key.ext must be true");
  if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes("encrypt") || !jwk.key_ops.includes("decrypt")) bad('key.key_ops must include "encrypt" and "decrypt"');
  if (typeof jwk.k !== "string" || !/^[A-Za-z0-9_-]+={0,2}$/.test(jwk.k)) bad("key.k must be base64url");
  const key = b64(jwk.k as string);
  if (key.length !== 32) bad(`key.k must be 32 bytes, not ${key.length}`);
  if (typeof f.iv !== "string") bad("iv is missing");
  const iv = b64(f.iv as string);
  if (iv.length !== 16) bad(`iv must be 16 bytes, not ${iv.length}`);
  const hash = f.hashes?.sha256;
  if (typeof hash !== "string") bad("hashes.sha256 is missing");
  const sha256 = b64(hash as string);
  if (sha256.length !== 32) bad("hashes.sha256 must be 32 bytes");
  return { info: f as EncryptedFileInfo, key, iv, sha256 };
}

/**
 * Decrypts a ciphertext stream, hashing the ciphertext as it passes; at the end a hash that does
 * not match fails the stream, so the caller never keeps a corrupt file.
 */
export class DecryptStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  private readonly decipher;

  constructor(
    key: Buffer,
    iv: Buffer,
    private readonly expected: Buffer,
  ) {
    super();
    this.decipher = createDecipheriv("aes-256-ctr", key, iv);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, this.decipher.update(chunk));
  }

  override _flush(done: TransformCallback): void {
    const tail = this.decipher.final();
    if (!this.hash.digest().equals(this.expected)) {
      done(new MediaError("hash_mismatch", "the attachment's sha256 does not match hashes.sha256: it was altered or corrupted"));
      return;
    }
    done(null, tail);
  }
}

/** The event as receivers see it: EncryptedFile key material removed (url, v and mimetype stay). */
export function withoutKeyMaterial<T extends Record<string, unknown>>(content: T): T {
  const strip = (file: unknown) => {
    if (!file || typeof file !== "object") return file;
    const { key: _key, iv: _iv, hashes: _hashes, ...rest } = file as Record<string, unknown>;
    return rest;
  };
  const out: Record<string, unknown> = { ...content };
  if ("file" in out) out.file = strip(out.file);
  const info = out.info as Record<string, unknown> | undefined;
  if (info && typeof info === "object" && "thumbnail_file" in info) out.info = { ...info, thumbnail_file: strip(info.thumbnail_file) };
  return out as T;
}
