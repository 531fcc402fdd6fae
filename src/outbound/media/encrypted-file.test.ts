import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { checkEncryptedFile, DecryptStream, MediaError, withoutKeyMaterial } from "./encrypted-file.js";

// Vector made independently with `openssl enc -aes-256-ctr` and `openssl dgst -sha256`.
const KEY = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
const IV = Buffer.from("f0f1f2f3f4f5f6f70000000000000000", "hex");
const PLAIN = "Matrix attachment test vector, 53 bytes long!!!!!!!!";
const CIPHER = Buffer.from(
  "966dcec039a9e29e1aa978b880864b8b0578e2aaccf4fffa75414f81c567588c7f04df4667c17ee26df1ebdd67827d2160f22158",
  "hex",
);
const SHA256 = "QaeHw4Pz+BtDqHEpcjcSGprolfNSmjUTvy1ODHEozpc";

const file = (overrides: Record<string, unknown> = {}, keyOverrides: Record<string, unknown> = {}) => ({
  url: "mxc://example.org/abc",
  key: { kty: "oct", alg: "A256CTR", key_ops: ["encrypt", "decrypt"], k: KEY.toString("base64url"), ext: true, ...keyOverrides },
  iv: IV.toString("base64").replace(/=+$/, ""),
  hashes: { sha256: SHA256 },
  v: "v2",
  ...overrides,
});

async function decrypt(cipher: Buffer, f: unknown, chunk = 7): Promise<string> {
  const { key, iv, sha256 } = checkEncryptedFile(f);
  const parts: Buffer[] = [];
  const chunks = Array.from({ length: Math.ceil(cipher.length / chunk) }, (_, i) => cipher.subarray(i * chunk, (i + 1) * chunk));
  await pipeline(Readable.from(chunks), new DecryptStream(key, iv, sha256), async function* (source) {
    for await (const c of source) parts.push(c as Buffer);
  });
  return Buffer.concat(parts).toString("utf8");
}

describe("EncryptedFile decryption", () => {
  it("decrypts the known vector in small chunks", async () => {
    expect(await decrypt(CIPHER, file())).toBe(PLAIN);
  });

  it("fails on a tampered ciphertext instead of yielding a corrupt file", async () => {
    const tampered = Buffer.from(CIPHER);
    tampered[10]! ^= 0xff;
    await expect(decrypt(tampered, file())).rejects.toMatchObject({ code: "hash_mismatch" });
  });

  it("accepts padded base64 and base64url forms", async () => {
    expect(await decrypt(CIPHER, file({ iv: IV.toString("base64"), hashes: { sha256: `${SHA256}=` } }))).toBe(PLAIN);
  });
});

describe("checkEncryptedFile", () => {
  it.each([
    [file({}, { kty: "RSA" }), /key.kty must be "oct"/],
    [file({}, { alg: "A128CTR" }), /key.alg must be "A256CTR"/],
    [file({}, { ext: false }), /key.ext must be true/],
    [file({}, { key_ops: ["decrypt"] }), /key_ops must include/],
    [file({}, { k: Buffer.alloc(16).toString("base64url") }), /32 bytes, not 16/],
    [file({ iv: "AAAA" }), /iv must be 16 bytes/],
    [file({ v: "v1" }), /only v2/],
    [file({ hashes: {} }), /hashes.sha256 is missing/],
    [file({ url: "https://evil.example/x" }), /mxc:\/\//],
    [null, /not an object/],
  ])("rejects %#", (f, reason) => {
    expect(() => checkEncryptedFile(f)).toThrow(MediaError);
    expect(() => checkEncryptedFile(f)).toThrow(reason);
  });
});

describe("withoutKeyMaterial", () => {
  it("removes key, iv and hashes from the file and thumbnail", () => {
    const content = { msgtype: "m.image", body: "a.png", file: file(), info: { mimetype: "image/png", thumbnail_file: file() } };
    const stripped = withoutKeyMaterial(content);
    expect(stripped.file).toEqual({ url: "mxc://example.org/abc", v: "v2" });
    expect((stripped.info as { thumbnail_file: unknown }).thumbnail_file).toEqual({ url: "mxc://example.org/abc", v: "v2" });
    expect(JSON.stringify(stripped)).not.toContain(KEY.toString("base64url"));
    expect(content.file.key).toBeDefined();
  });
});
