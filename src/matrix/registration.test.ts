import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { generateRegistration, loadRegistration, writeRegistrationFile } from "./registration.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "registration-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("generateRegistration", () => {
  it("uses the defaults and random, long, distinct tokens", () => {
    const a = generateRegistration({ url: "http://127.0.0.1:9000" });
    const b = generateRegistration({ url: "http://127.0.0.1:9000" });
    expect(a.id).toBe("webhook-bridge");
    expect(a.sender_localpart).toBe("webhooks");
    expect(a.rate_limited).toBe(false);
    expect(a.namespaces?.users).toEqual([{ regex: "@webhook_.*:.*", exclusive: true }]);
    expect(a.hs_token.length).toBeGreaterThanOrEqual(32);
    expect(a.as_token.length).toBeGreaterThanOrEqual(32);
    expect(a.hs_token).not.toBe(a.as_token);
    expect(a.hs_token).not.toBe(b.hs_token);
    expect(a.as_token).not.toBe(b.as_token);
  });

  it("honours id, sender and prefix, escaping regex characters", () => {
    const r = generateRegistration({ url: "http://x", id: "hooks2", senderLocalpart: "bot", userPrefix: "wh." });
    expect(r.id).toBe("hooks2");
    expect(r.sender_localpart).toBe("bot");
    expect(r.namespaces?.users?.[0]?.regex).toBe("@wh\\..*:.*");
  });
});

describe("writeRegistrationFile / loadRegistration", () => {
  it("round-trips and writes the file private", async () => {
    const reg = generateRegistration({ url: "http://127.0.0.1:9000" });
    const path = join(dir, "registration.yaml");
    await writeRegistrationFile(path, reg);
    expect((await stat(path)).mode & 0o077).toBe(0);
    expect(yaml.load(await readFile(path, "utf8"))).toEqual(reg);
    expect(await loadRegistration(path)).toEqual({
      id: "webhook-bridge",
      hsToken: reg.hs_token,
      asToken: reg.as_token,
      senderLocalpart: "webhooks",
      url: "http://127.0.0.1:9000",
      userNamespaceRegexes: ["@webhook_.*:.*"],
      raw: reg,
    });
  });

  it("says clearly when the file is missing", async () => {
    await expect(loadRegistration(join(dir, "nope.yaml"))).rejects.toThrow(/nope\.yaml does not exist/);
  });

  it("says clearly when the YAML is invalid", async () => {
    const path = join(dir, "bad.yaml");
    await writeFile(path, "id: [unclosed\n");
    await expect(loadRegistration(path)).rejects.toThrow(/not valid YAML/);
  });

  it("names a missing token", async () => {
    const reg = generateRegistration({ url: "http://127.0.0.1:9000" }) as unknown as Record<string, unknown>;
    delete reg.as_token;
    const path = join(dir, "notoken.yaml");
    await writeRegistrationFile(path, reg);
    await expect(loadRegistration(path)).rejects.toThrow(/'as_token' is missing/);
  });
});

describe("encryption keys of the registration", () => {
  it("are added with encryption, and are what missingEncryptionKeys looks for", async () => {
    const { ENCRYPTION_REGISTRATION_KEYS, missingEncryptionKeys } = await import("./registration.js");
    const plain = generateRegistration({ url: "http://x" }) as unknown as Record<string, unknown>;
    const encrypted = generateRegistration({ url: "http://x", encryption: true }) as unknown as Record<string, unknown>;
    expect(missingEncryptionKeys(plain)).toEqual(["receive_ephemeral: true", "org.matrix.msc3202: true", "io.element.msc4190: true"]);
    expect(encrypted).toMatchObject(ENCRYPTION_REGISTRATION_KEYS);
    expect(missingEncryptionKeys(encrypted)).toEqual([]);
    // The older MSC2409 name alone will do.
    expect(missingEncryptionKeys({ "de.sorunome.msc2409.push_ephemeral": true, "org.matrix.msc3202": true, "io.element.msc4190": true })).toEqual([]);
  });
});
