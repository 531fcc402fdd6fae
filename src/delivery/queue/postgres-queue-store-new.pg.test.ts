// storeNewTransaction on a real server: a new id is stored as storeTransaction stores it; a seen
// id stores nothing (no message, job, follow-up or handled-id change) and gives its events' ids.
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";
import { PostgresDeliveryQueue } from "./postgres-queue.js";
import type { OutboundMessage } from "./queue.js";

const opened: Array<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> = [];
afterEach(async () => {
  for (const { pool, queue } of opened.splice(0)) {
    await queue.close();
    await pool.end();
  }
});

/** A process's queue on the database (a fresh one unless `url` is given). */
async function open(url?: string): Promise<{ url: string; pool: pg.Pool; queue: PostgresDeliveryQueue }> {
  const db = url ?? (await freshDatabase("storenew"));
  const pool = await openPgStore({ url: db, poolSize: 2 });
  const queue = await PostgresDeliveryQueue.open(pool, { url: db, shared: true });
  opened.push({ pool, queue });
  return { url: db, pool, queue };
}

const message = (eventId: string, hookIds: string[]): OutboundMessage => ({ eventId, originTs: 1_700_000_000_000, roomId: "!r:x", body: JSON.stringify({ event_id: eventId }), hookIds });

async function counts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<Record<string, number>>(
    "SELECT (SELECT count(*)::int FROM messages) AS messages, (SELECT count(*)::int FROM jobs) AS jobs, (SELECT count(*)::int FROM follow_ups) AS follow_ups",
  );
  return rows[0]!;
}

describe("PostgresDeliveryQueue.storeNewTransaction", () => {
  it("stores a transaction whose id is new, as storeTransaction does", async () => {
    const { pool, queue } = await open();
    const stored = await queue.storeNewTransaction({ txnId: "t1", eventIds: ["$a", "$c"], messages: [message("$a", ["ep_1", "ep_2"])], followUps: [{ eventId: "$c", event: "{}" }] });
    expect(stored).toEqual({ jobs: 2, newFollowUps: [true] });
    expect(await queue.handledEvents("t1")).toEqual(new Set(["$a", "$c"]));
    expect(await counts(pool)).toEqual({ messages: 1, jobs: 2, follow_ups: 1 });
  });

  it("stores nothing for an id handled before, and gives the events handled under it", async () => {
    const { pool, queue } = await open();
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$a"], messages: [message("$a", ["ep_1"])], followUps: [] });
    // A re-used id with a new event and a follow-up: none of it is stored here.
    const again = await queue.storeNewTransaction({ txnId: "t1", eventIds: ["$b", "$c"], messages: [message("$b", ["ep_1"])], followUps: [{ eventId: "$c", event: "{}" }] });
    expect(again).toEqual({ seen: new Set(["$a"]) });
    expect(await counts(pool)).toEqual({ messages: 1, jobs: 1, follow_ups: 0 });
    expect(await queue.handledEvents("t1")).toEqual(new Set(["$a"]));
  });

  it("lets one of two processes given the same new id store it, and tells the other it was seen", async () => {
    const { url, pool, queue } = await open();
    const { queue: other } = await open(url);
    const record = { txnId: "t9", eventIds: ["$a"], messages: [message("$a", ["ep_1"])], followUps: [] };
    const results = await Promise.all([queue.storeNewTransaction(record), other.storeNewTransaction(record)]);
    expect(results.filter((r) => "seen" in r)).toEqual([{ seen: new Set(["$a"]) }]);
    expect(await counts(pool)).toEqual({ messages: 1, jobs: 1, follow_ups: 0 });
  });

  it("with the rooms' versions of their hooks: stores if they are current, else nothing, naming the rooms that changed", async () => {
    const { pool, queue } = await open();
    await pool.query("INSERT INTO accepted_rooms (room_id, version) VALUES ('!r:x', 3), ('!s:x', 1)");
    const record = (txnId: string) => ({ txnId, eventIds: ["$a"], messages: [message("$a", ["ep_1"])], followUps: [{ eventId: "$c", event: "{}" }] });
    // '!t:x' has no accepted hooks: version 0.
    const stale = await queue.storeNewTransaction(record("t1"), new Map([["!r:x", 2], ["!s:x", 1], ["!t:x", 0], ["!u:x", 1]]));
    expect("stale" in stale && [...stale.stale].sort()).toEqual(["!r:x", "!u:x"]);
    expect(await counts(pool)).toEqual({ messages: 0, jobs: 0, follow_ups: 0 });
    expect(await queue.handledEvents("t1")).toBeNull();
    const stored = await queue.storeNewTransaction(record("t1"), new Map([["!r:x", 3], ["!s:x", 1], ["!t:x", 0]]));
    expect(stored).toEqual({ jobs: 1, newFollowUps: [true] });
    // A seen id is told as before, whatever the versions.
    expect(await queue.storeNewTransaction(record("t1"), new Map([["!r:x", 1]]))).toEqual({ seen: new Set(["$a"]) });
  });
});
