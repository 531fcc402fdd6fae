import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newToken, openSecret, sealSecret } from "./sealed-secret.js";

describe("sealed secrets", () => {
  const key = randomBytes(32);

  it("round-trips and never stores the plaintext", () => {
    const sealed = sealSecret(key, "hunter2-token");
    expect(sealed.includes(Buffer.from("hunter2-token"))).toBe(false);
    expect(openSecret(key, sealed)).toBe("hunter2-token");
  });

  it("refuses a different key with a clear message", () => {
    const sealed = sealSecret(key, "x");
    expect(() => openSecret(randomBytes(32), sealed)).toThrow(/encryptionKey differs/);
  });

  it("detects tampering", () => {
    const sealed = sealSecret(key, "value");
    sealed[sealed.length - 1]! ^= 1;
    expect(() => openSecret(key, sealed)).toThrow();
  });

  it("makes long distinct tokens", () => {
    const a = newToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(a);
  });
});
