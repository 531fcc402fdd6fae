// A job's message on a real server, now that no foreign key guards the reference (migration 11):
// an event stored again makes its message young again, so that pruning, which deletes old
// messages no job refers to, never deletes one a job is being stored for.
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

async function open(): Promise<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> {
  const url = await freshDatabase("messages");
  const pool = await openPgStore({ url, poolSize: 2 });
  const queue = await PostgresDeliveryQueue.open(pool, { url, shared: true });
  opened.push({ pool, queue });
  return { pool, queue };
}

const message = (eventId: string, hookIds: string[]): OutboundMessage => ({ eventId, originTs: 1_700_000_000_000, roomId: "!r:x", body: JSON.stringify({ event_id: eventId }), hookIds });
const DAY = 86_400_000;

describe("PostgresDeliveryQueue messages", () => {
  it("has no foreign key from jobs to messages (its per-job check cost a fifth of a store)", async () => {
    const { pool } = await open();
    const { rows } = await pool.query("SELECT conname FROM pg_constraint WHERE conrelid = 'jobs'::regclass AND contype = 'f'");
    expect(rows).toEqual([]);
  });

  it("makes the message of an event stored again young again, and a prune keeps it and its new job", async () => {
    const { pool, queue } = await open();
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$a"], messages: [message("$a", ["ep_1"])], followUps: [] });
    const [first] = await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 });
    queue.complete(first!, { outcome: "success", status: 200, error: null, durationMs: 1, responseBody: "" });
    await queue.flush();
    // The message as a week-old one would be: older than any retention.
    await pool.query("UPDATE messages SET created_at = $1", [Date.now() - 7 * DAY]);
    const before = Date.now();
    await queue.storeTransaction({ txnId: "t2", eventIds: ["$a"], messages: [message("$a", ["ep_2"])], followUps: [] });
    const { rows } = await pool.query<{ created_at: string }>("SELECT created_at FROM messages");
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.created_at)).toBeGreaterThanOrEqual(before);
    // A day's retention, the first job done two days ago: it goes, the message stays with the second.
    await pool.query("UPDATE jobs SET finished_at = $1 WHERE state = 'done'", [Date.now() - 2 * DAY]);
    await queue.prune(Date.now() - DAY);
    expect((await pool.query("SELECT count(*)::int AS n FROM messages")).rows[0].n).toBe(1);
    const again = await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 });
    expect(again.map((j) => [j.eventId, j.hookId, j.body])).toEqual([["$a", "ep_2", JSON.stringify({ event_id: "$a" })]]);
  });
});
