import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { OutboundHooksTable } from "./outbound-hooks-table.js";
import { SigningKeysTable } from "./signing-keys-table.js";

describe("SigningKeysTable", () => {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  const hooks = new OutboundHooksTable(db, key);
  const keys = new SigningKeysTable(db, key);
  afterEach(() => void db.prepare("DELETE FROM signing_keys").run());

  it("keeps the old secret signing during the grace period, newest first", () => {
    const { hook } = hooks.ensure("!r:x", "a", "@u:x");
    keys.rotate(hook.id, "whsec_old", 1000, 0);
    keys.rotate(hook.id, "whsec_new", 1000, 10);
    expect(keys.active(hook.id, 20)).toEqual(["whsec_new", "whsec_old"]);
    expect(keys.active(hook.id, 1010)).toEqual(["whsec_new"]);
    expect(keys.clear(hook.id)).toBe(2);
    expect(keys.active(hook.id, 20)).toEqual([]);
  });

  it("stores secrets sealed, never in clear", () => {
    const { hook } = hooks.ensure("!r:x", "b", "@u:x");
    keys.rotate(hook.id, "whsec_visible?", 1000);
    const raw = db.prepare("SELECT secret_enc FROM signing_keys").get() as { secret_enc: Buffer };
    expect(raw.secret_enc.includes(Buffer.from("whsec_visible?"))).toBe(false);
  });
});

describe("OutboundHooksTable suspension and failure tracking", () => {
  const db = openDatabase(":memory:");
  const hooks = new OutboundHooksTable(db, randomBytes(32));

  it("suspends once, resumes, and tracks how long a hook has been failing", () => {
    const { hook } = hooks.ensure("!r:x", "s", "@u:x");
    expect(hooks.suspend(hook.id, "paused by @u:x", 5)).toBe(true);
    expect(hooks.suspend(hook.id, "later reason", 6)).toBe(false);
    expect(hooks.byId(hook.id)).toMatchObject({ suspendedAt: 5, suspendedReason: "paused by @u:x" });
    expect(hooks.markFailing(hook.id, 100)).toBe(100);
    expect(hooks.markFailing(hook.id, 200)).toBe(100);
    hooks.markHealthy(hook.id);
    expect(hooks.markFailing(hook.id, 300)).toBe(300);
    expect(hooks.resume(hook.id)).toBe(true);
    expect(hooks.byId(hook.id)).toMatchObject({ suspendedAt: null, failingSince: null });
  });
});
