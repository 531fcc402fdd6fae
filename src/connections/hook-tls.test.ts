import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { TlsProfile } from "../config/tls-profiles.js";
import { tlsMaterial, type TlsParts } from "../delivery/tls-material.js";
import { openDatabase } from "../store/database.js";
import { HookTlsTable } from "../store/hook-tls-table.js";
import { OutboundHooksTable } from "../store/outbound-hooks-table.js";
import { HookTls } from "./hook-tls.js";

const pem = (name: string) => readFileSync(new URL(`../delivery/test-certs/mtls/${name}`, import.meta.url), "utf8");
const parts: TlsParts = { ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key"), passphrase: null };
const profile: TlsProfile = { name: "partner", files: {}, parts, material: tlsMaterial(parts)! };

async function setup() {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  const { hook } = await new OutboundHooksTable(db, key).ensure("!r:x", "ci", "@u:x");
  return { tls: new HookTls(new HookTlsTable(db, key), new Map([["partner", profile]])), id: hook.id };
}

describe("HookTls", () => {
  it("uses the state's profile, and lists the known ones when it names another", async () => {
    const { tls, id } = await setup();
    expect(tls.materialFor({ id, tlsProfile: "partner" })).toBe(profile.material);
    expect(tls.materialFor({ id, tlsProfile: null })).toBeUndefined();
    expect(tls.profileProblem("partner")).toBeNull();
    expect(tls.profileProblem("constructor")).toBe('tls_profile: "constructor" is not one of this bridge\'s TLS profiles (it has "partner")');
    expect(tls.describe({ id, tlsProfile: "partner" })).toMatch(/^TLS: profile "partner": trusts 1 certificate, first: CN=Bridge Test CA;.*; client certificate CN=webhook-bridge, O=Bridge Test;/);
  });

  it("checks uploads against each other, and uploaded material wins over the profile", async () => {
    const { tls, id } = await setup();
    expect(await tls.upload(id, "cert", pem("client.pem"), "@u:x")).toEqual([]);
    // Only half a pair: the certificate is not sent yet, and the profile no longer applies.
    expect(tls.materialFor({ id, tlsProfile: "partner" })).toBeUndefined();
    expect(tls.describe({ id, tlsProfile: "partner" })).toMatch(/uploaded by command \(wins over tls_profile "partner"\).*its key is not uploaded yet/);
    expect(await tls.upload(id, "key", pem("other-client.key"), "@u:x")).toEqual(["the key does not belong to the client certificate (they do not match)"]);
    expect(await tls.upload(id, "key", pem("client.key"), "@u:x")).toEqual([]);
    expect(await tls.upload(id, "ca", pem("ca.pem"), "@u:x")).toEqual([]);
    expect(tls.materialFor({ id, tlsProfile: null })).toMatchObject({ ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") });
    expect(tls.describe({ id, tlsProfile: null })).not.toMatch(/BEGIN/);
    expect(await tls.clear(id)).toBe(3);
    expect(tls.materialFor({ id, tlsProfile: "partner" })).toBe(profile.material);
  });
});
