// Failure notices when several processes deliver for one hook (bridge.role), over a real
// PostgreSQL: each process has its own pool, and what one announces reaches the other, as the
// change feed carries it. One process's notices: failure-notices.test.ts.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openOutboundHookRecords, type OutboundHookRecords } from "../store/outbound-hook-records.js";
import { PgDmRoomsTable } from "../store/postgres/pg-dm-rooms-table.js";
import { openPgStore } from "../store/postgres/pg-store.js";
import { freshDatabase } from "../store/postgres/pg-test-fixtures.js";
import { nthAttempt, targetsOver } from "./failure-notices.fixture.js";

const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
});

/** Two processes on one database; each one's announcements make the other read the hook again. */
async function twoProcesses() {
  const url = await freshDatabase("notices");
  const key = randomBytes(32);
  const announced: Array<{ by: "a" | "b"; id: string }> = [];
  const records: Partial<Record<"a" | "b", OutboundHookRecords>> = {};
  const open = async (self: "a" | "b", peer: "a" | "b") => {
    const pool = await openPgStore({ url, poolSize: 4 });
    pools.push(pool);
    records[self] = await openOutboundHookRecords({ db: null as never, pool }, key, (id) => {
      announced.push({ by: self, id });
      void records[peer]?.hooks.reload(id);
    });
    return { ...(await targetsOver(records[self], new PgDmRoomsTable(pool))), pool };
  };
  const a = await open("a", "b");
  const b = await open("b", "a");
  return { a, b, announced };
}

describe("failure notices of several processes on PostgreSQL", () => {
  it("tell the room once when two processes deliver for the hook, and its recovery once", async () => {
    const { a, b } = await twoProcesses();
    for (let i = 1; i <= 5; i++) {
      await a.fail(i * 1000, nthAttempt(i));
      await b.fail(i * 1000 + 500, nthAttempt(i));
    }
    const failing = [...(await a.roomNotices()), ...(await b.roomNotices())];
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatch(/^Outbound hook "ci" cannot deliver/);
    expect([...(await a.dms()), ...(await b.dms())]).toHaveLength(1);
    // Both get through again: one recovery notice between them.
    await b.succeed();
    await a.succeed();
    const all = [...(await a.roomNotices()), ...(await b.roomNotices())];
    expect(all.filter((t) => /delivers again/.test(t))).toHaveLength(1);
    // A new outage after the recovery is told again (once).
    for (let i = 1; i <= 3; i++) {
      await a.fail(20 * 60_000 + i, nthAttempt(i));
      await b.fail(20 * 60_000 + i, nthAttempt(i));
    }
    const later = [...(await a.roomNotices()), ...(await b.roomNotices())];
    expect(later.filter((t) => /cannot deliver/.test(t))).toHaveLength(2);
  });

  it("a notice the notifier holds back (within its period) claims nothing in the store", async () => {
    const { a, announced } = await twoProcesses();
    const noticeAt = async () => (await a.pool.query<{ at: number | null }>("SELECT failure_notice_at AS at FROM outbound_hooks")).rows[0]!.at;
    for (let i = 1; i <= 3; i++) await a.fail(1000 + i, nthAttempt(i));
    expect(await noticeAt()).toBe(1003);
    await a.succeed();
    expect(await noticeAt()).toBeNull();
    // Began failing, told, failing no more, episode ended.
    expect(announced.filter((x) => x.by === "a")).toHaveLength(4);
    // Failing again a minute later: held back, so the store stays untold; only the new failing is announced.
    for (let i = 1; i <= 5; i++) await a.fail(61_000 + i, nthAttempt(i));
    expect(await noticeAt()).toBeNull();
    expect(announced.filter((x) => x.by === "a")).toHaveLength(5);
    expect((await a.roomNotices()).filter((t) => /cannot deliver/.test(t))).toHaveLength(1);
  });

  it("another process delivering during the outage neither tells the room again nor forgets its recovery", async () => {
    const first = await twoProcesses();
    for (let i = 1; i <= 4; i++) await first.a.fail(i * 1000, nthAttempt(i));
    expect(await first.a.roomNotices()).toHaveLength(1);
    // b was there all along; it takes over the deliveries and finds the episode told.
    for (let i = 1; i <= 5; i++) await first.b.fail(10_000 + i, nthAttempt(i));
    expect(await first.b.roomNotices()).toEqual([]);
    await first.b.succeed();
    expect(await first.b.roomNotices()).toEqual([expect.stringMatching(/delivers again/)]);
  });
});
