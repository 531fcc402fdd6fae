import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeBundle, describeCertificate, pemBlocks, pemOfPart, tlsMaterial, tlsProblems, type TlsParts } from "./tls-material.js";

const pem = (name: string) => readFileSync(new URL(`./test-certs/mtls/${name}`, import.meta.url), "utf8");
const none: TlsParts = { ca: null, cert: null, key: null, passphrase: null };

describe("TLS material checks", () => {
  it("accepts a CA bundle and a matching certificate and key", () => {
    expect(tlsProblems({ ca: pem("ca.pem") + pem("other-ca.pem"), cert: pem("client.pem"), key: pem("client.key"), passphrase: null })).toEqual([]);
  });

  it("opens an encrypted key with its passphrase, and says when it cannot", () => {
    const parts = { ...none, cert: pem("client.pem"), key: pem("client-encrypted.key") };
    expect(tlsProblems({ ...parts, passphrase: "test-passphrase" })).toEqual([]);
    expect(tlsProblems(parts)).toEqual([{ part: "key", message: "the key is encrypted and no passphrase is given" }]);
    expect(tlsProblems({ ...parts, passphrase: "wrong" })).toEqual([{ part: "key", message: "the key does not open with the passphrase given" }]);
  });

  it("finds a key that belongs to another certificate", () => {
    expect(tlsProblems({ ...none, cert: pem("client.pem"), key: pem("other-client.key") })).toEqual([
      { part: "key", message: "the key does not belong to the client certificate (they do not match)" },
    ]);
  });

  it("names each bad part", () => {
    const problems = tlsProblems({ ca: "not pem", cert: pem("client.key"), key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", passphrase: null });
    expect(problems.map((p) => p.part)).toEqual(["ca", "cert", "key"]);
    expect(problems[0]!.message).toMatch(/no CERTIFICATE block/);
    expect(problems[2]!.message).toMatch(/does not parse/);
    expect(tlsProblems({ ...none, ca: pem("ca.pem") + pem("ca.key") })[0]!.message).toMatch(/holds a private key/);
  });

  it("wants a certificate and its key together, unless uploads are under way", () => {
    expect(tlsProblems({ ...none, cert: pem("client.pem") })).toEqual([{ part: "key", message: "a client certificate needs its private key" }]);
    expect(tlsProblems({ ...none, key: pem("client.key") })).toEqual([{ part: "cert", message: "a private key needs its client certificate" }]);
    expect(tlsProblems({ ...none, cert: pem("client.pem") }, { partial: true })).toEqual([]);
  });
});

describe("material for the sender", () => {
  it("has a stable id that changes with any part", () => {
    const a = tlsMaterial({ ...none, ca: pem("ca.pem") });
    expect(a).toEqual({ ca: pem("ca.pem"), id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(tlsMaterial({ ...none, ca: pem("ca.pem") })!.id).toBe(a!.id);
    expect(tlsMaterial({ ...none, ca: pem("other-ca.pem") })!.id).not.toBe(a!.id);
    const pair = tlsMaterial({ ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key"), passphrase: null });
    expect(pair).toMatchObject({ cert: pem("client.pem"), key: pem("client.key") });
    expect(pair!.id).not.toBe(a!.id);
  });

  it("sends no half pair, and nothing for nothing", () => {
    expect(tlsMaterial({ ...none, ca: pem("ca.pem"), cert: pem("client.pem") })).not.toHaveProperty("cert");
    expect(tlsMaterial({ ...none, cert: pem("client.pem") })).toBeNull();
    expect(tlsMaterial(none)).toBeNull();
  });
});

describe("PEM in messages", () => {
  it("takes the blocks out of a code block, and each part's own kind", () => {
    const message = "here it is:\n```\n" + pem("client.pem") + "```\n";
    expect(pemBlocks(message)).toHaveLength(1);
    expect(pemOfPart("cert", message)).toBe(pem("client.pem"));
    expect(pemOfPart("key", pem("client.key").replace(/\n/g, "\r\n"))).toBe(pem("client.key"));
    expect(() => pemOfPart("cert", pem("client.pem") + pem("client.key"))).toThrow(/private key/);
    expect(() => pemOfPart("key", pem("client.pem"))).toThrow(/no private key/);
    expect(() => pemOfPart("ca", "nothing")).toThrow(/no PEM block/);
  });

  it("describes certificates without showing them", () => {
    const text = describeCertificate(pem("client.pem"));
    expect(text).toMatch(/^CN=webhook-bridge, O=Bridge Test; issuer CN=Bridge Test CA; expires 2\d{3}-\d\d-\d\d \(SHA-256 [0-9A-F:]{23}…\)$/);
    expect(describeCertificate(pem("client.pem"), Date.parse("2300-01-01"))).toMatch(/EXPIRED/);
    expect(describeBundle(pem("ca.pem") + pem("other-ca.pem"))).toMatch(/^2 certificates, first: CN=Bridge Test CA;/);
  });
});
