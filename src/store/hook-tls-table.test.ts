import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { HookTlsTable } from "./hook-tls-table.js";
import { OutboundHooksTable } from "./outbound-hooks-table.js";

describe("HookTlsTable", () => {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  const hooks = new OutboundHooksTable(db, key);
  const tls = new HookTlsTable(db, key);
  const pem = "-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n";

  it("keeps each part sealed, replaces it, and clears them all", () => {
    const { hook } = hooks.ensure("!r:x", "a", "@u:x");
    tls.set(hook.id, "key", pem, "@u:x");
    tls.set(hook.id, "ca", "ca-1", "@u:x");
    tls.set(hook.id, "ca", "ca-2", "@u:x");
    expect(tls.parts(hook.id)).toEqual({ ca: "ca-2", cert: null, key: pem, passphrase: null });
    const raw = db.prepare("SELECT pem_enc FROM hook_tls").all() as Array<{ pem_enc: Buffer }>;
    expect(raw).toHaveLength(2);
    for (const row of raw) expect(row.pem_enc.includes(Buffer.from("secret-bytes"))).toBe(false);
    // Another table over the same file sees the same (nothing only in memory).
    expect(new HookTlsTable(db, key).parts(hook.id).ca).toBe("ca-2");
    expect(tls.clear(hook.id)).toBe(2);
    expect(tls.parts(hook.id)).toEqual({ ca: null, cert: null, key: null, passphrase: null });
  });

  it("goes with its hook", () => {
    const { hook } = hooks.ensure("!r:x", "b", "@u:x");
    tls.set(hook.id, "cert", "c", "@u:x");
    hooks.remove(hook.id);
    tls.forget(hook.id);
    expect(tls.parts(hook.id).cert).toBeNull();
    expect(db.prepare("SELECT count(*) AS n FROM hook_tls WHERE hook_id = ?").get(hook.id)).toEqual({ n: 0 });
  });
});
