import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { OutboundHooksTable } from "./outbound-hooks-table.js";

describe("OutboundHooksTable shared by processes (bridge.role)", () => {
  it("agrees on since when a hook fails whichever process saw the failures and the success", () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const a = new OutboundHooksTable(db, key, undefined, true);
    const b = new OutboundHooksTable(db, key, undefined, true);
    const { hook } = a.ensure("!r:x", "ci", "@u:x");
    expect(a.markFailing(hook.id, 10)).toBe(10);
    expect(b.markFailing(hook.id, 20)).toBe(10);
    // The hook works again through the other process: the next failure starts a new episode everywhere.
    expect(b.markHealthy(hook.id)).toBe(10);
    expect(a.markHealthy(hook.id)).toBeNull();
    expect(a.markFailing(hook.id, 30)).toBe(30);
    expect(b.byId(hook.id)?.failingSince).toBe(30);
  });

  it("drops what another process changed (token, suspension) when told", () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const changed: string[] = [];
    const a = new OutboundHooksTable(db, key, (id) => changed.push(id), true);
    const b = new OutboundHooksTable(db, key, undefined, true);
    const { hook, newToken } = a.ensure("!r:x", "ci", "@u:x");
    expect(b.token(hook.id)).toBe(newToken);
    const fresh = a.refreshToken(hook.id);
    expect(a.suspend(hook.id, "paused by @u:x")).toBe(true);
    expect(changed).toEqual([hook.id, hook.id]);
    // Until told, the other process keeps its copy; told, it reads the file again.
    expect(b.token(hook.id)).toBe(newToken);
    expect(b.suspendedIds().has(hook.id)).toBe(false);
    b.forgetCached(hook.id);
    expect(b.token(hook.id)).toBe(fresh);
    expect(b.suspendedIds().has(hook.id)).toBe(true);
  });
});
