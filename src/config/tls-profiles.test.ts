import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { parseConfig } from "./load.js";

const certs = fileURLToPath(new URL("../delivery/test-certs/mtls/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bridge-tls-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const name of ["ca.pem", "client.pem", "client.key", "client-encrypted.key", "client.passphrase", "other-client.key"]) copyFileSync(join(certs, name), join(dir, name));

const config = (profiles: string) => `
homeserver:
  url: http://hs.test:8008
  domain: example.org
store:
  encryptionKey: ${Buffer.alloc(32, 7).toString("base64")}
delivery:
  tlsProfiles:
${profiles}
`;
const parse = (profiles: string) => parseConfig(config(profiles), "test.yml", dir);
function issues(profiles: string): ConfigIssue[] {
  try {
    parse(profiles);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}

describe("delivery.tlsProfiles", () => {
  it("reads each profile's files, relative to the config file", () => {
    const loaded = parse("    partner:\n      ca: ca.pem\n      cert: client.pem\n      key: client-encrypted.key\n      passphraseFile: client.passphrase\n    private-ca:\n      ca: ca.pem");
    const partner = loaded.delivery.tlsProfiles.get("partner")!;
    expect(partner.files.ca).toBe(join(dir, "ca.pem"));
    expect(partner.parts.passphrase).toBe("test-passphrase");
    expect(partner.material).toMatchObject({ cert: expect.stringContaining("BEGIN CERTIFICATE"), passphrase: "test-passphrase", id: expect.any(String) });
    expect(loaded.delivery.tlsProfiles.get("private-ca")!.material).not.toHaveProperty("cert");
    expect([...loaded.delivery.tlsProfiles.keys()]).toEqual(["partner", "private-ca"]);
  });

  it("defaults to none", () => {
    expect(parseConfig(config("    {}"), "test.yml").delivery.tlsProfiles.size).toBe(0);
  });

  it("names the profile and key of each problem, never the key's contents", () => {
    const found = issues([
      "    missing:\n      ca: nope.pem",
      "    mismatch:\n      cert: client.pem\n      key: other-client.key",
      "    locked:\n      cert: client.pem\n      key: client-encrypted.key",
      "    halfway:\n      cert: client.pem",
      "    typo:\n      certificate: client.pem",
      "    empty: {}",
    ].join("\n"));
    expect(found).toEqual([
      { path: "delivery.tlsProfiles.typo.certificate", message: "unknown key (expected one of: ca, cert, key, passphraseFile)" },
      { path: "delivery.tlsProfiles.empty", message: expect.stringMatching(/^must be/) },
    ]);
    const read = issues(["    missing:\n      ca: nope.pem", "    mismatch:\n      cert: client.pem\n      key: other-client.key", "    locked:\n      cert: client.pem\n      key: client-encrypted.key", "    halfway:\n      cert: client.pem"].join("\n"));
    expect(read).toEqual([
      { path: "delivery.tlsProfiles.missing.ca", message: `cannot read ${join(dir, "nope.pem")}: no such file` },
      { path: "delivery.tlsProfiles.mismatch.key", message: `the key does not belong to the client certificate (they do not match) (${join(dir, "other-client.key")})` },
      { path: "delivery.tlsProfiles.locked.key", message: `the key is encrypted and no passphrase is given (${join(dir, "client-encrypted.key")})` },
      { path: "delivery.tlsProfiles.halfway.key", message: "a client certificate needs its private key" },
    ]);
    expect(JSON.stringify(read)).not.toContain("PRIVATE KEY");
  });

  it("refuses profile names a hook could not name", () => {
    const found = issues("    \"has space\":\n      ca: ca.pem");
    expect(found).toEqual([{ path: 'delivery.tlsProfiles."has space"', message: expect.stringMatching(/^is not an allowed name: use letters, digits/) }]);
  });
});
