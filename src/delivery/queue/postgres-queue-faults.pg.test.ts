// What the PostgreSQL queue does when things go wrong: texts PostgreSQL cannot store, batches
// whose hook changed, a lost session lock, a close while a claim runs, a backlog to sleep over.
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";
import type { LaneBatching } from "../batch.js";
import { PostgresDeliveryQueue, type PostgresQueueOptions } from "./postgres-queue.js";
import type { AttemptRecord, OutboundMessage } from "./queue.js";

const ok: AttemptRecord = { outcome: "success", status: 200, error: null, durationMs: 1, responseBody: "" };
const TS = 1_700_000_000_000;
const message = (n: number, hookIds: string[], eventId = `$e${n}`): OutboundMessage => ({ eventId, originTs: TS + n, roomId: "!r:x", body: `{"n":${n}}`, hookIds });
const store = (queue: PostgresDeliveryQueue, txnId: string, messages: OutboundMessage[]) =>
  queue.storeTransaction({ txnId, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
const lane = (maxEvents: number): LaneBatching => ({ maxEvents, maxWaitMs: 0, alone: () => false });

/** Waits (bounded: 100 × 50 ms) until `check` holds. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("PostgresDeliveryQueue when things go wrong (real server)", () => {
  const opened: Array<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> = [];
  const startProcess = async (url: string, opts: Partial<PostgresQueueOptions> = {}) => {
    const pool = await openPgStore({ url, poolSize: 4 });
    const queue = await PostgresDeliveryQueue.open(pool, { url, ...opts });
    opened.push({ pool, queue });
    return { pool, queue };
  };
  afterEach(async () => {
    for (const { pool, queue } of opened.splice(0)) {
      await queue.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
  });

  it("stores a NUL byte (a receiver's binary answer, an event id) as U+FFFD, and every other outcome with it", async () => {
    const url = await freshDatabase("faults");
    const errors: unknown[] = [];
    const { pool, queue } = await startProcess(url, { onBackgroundError: (err) => errors.push(err) });
    await store(queue, "t1", [message(1, ["ep_a"], "$nul\0id"), message(2, ["ep_a"])]);
    const jobs = await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 });
    expect(jobs).toHaveLength(2);
    queue.retryAt(jobs[0]!, Date.now() + 60_000, { outcome: "retry", status: 500, error: "HTTP 500: \0\0", durationMs: 1, responseBody: "PNG\0\x01" });
    queue.complete(jobs[1]!, ok);
    await queue.flush();
    expect(errors).toEqual([]);
    const { rows } = await pool.query("SELECT event_id, error, response_body FROM attempts ORDER BY batch_id, seq");
    expect(rows).toEqual([
      { event_id: "$nul\uFFFDid", error: "HTTP 500: \uFFFD\uFFFD", response_body: "PNG\uFFFD\x01" },
      { event_id: "$e2", error: null, response_body: "" },
    ]);
    expect(await queue.depth()).toBe(1);
    // Looked up with the same text: the handled id, a follow-up, a replay.
    await queue.storeTransaction({ txnId: "t\0x", eventIds: ["$f\0"], messages: [], followUps: [{ eventId: "$f\0", event: "{}" }] });
    expect(await queue.handledEvents("t\0x")).toEqual(new Set(["$f\uFFFD"]));
    await queue.followUpDone("$f\0");
    expect(await queue.pendingFollowUps()).toEqual([]);
    expect(await queue.replay("ep_a", { eventId: "$nul\0id", originTs: null })).toBe(0);
  });

  it("writes every other outcome when PostgreSQL refuses one, and that one without its texts once it is alone", async () => {
    const url = await freshDatabase("faults");
    const errors: unknown[] = [];
    const { pool, queue } = await startProcess(url, { onBackgroundError: (err) => errors.push(err) });
    // A stand-in for a row the server refuses: a trigger that rejects one error text.
    await pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF 'REFUSED' = ANY(NEW.errors) THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON attempt_batches FOR EACH ROW EXECUTE FUNCTION refuse()`);
    await store(queue, "t1", Array.from({ length: 8 }, (_, i) => message(i, ["ep_a"])));
    const jobs = await queue.claimDue(8, { now: Date.now(), leaseMs: 600_000 });
    jobs.forEach((job, i) => queue.complete(job, { ...ok, error: i === 5 ? "REFUSED" : null }));
    const done = async () => (await pool.query("SELECT count(*)::int AS n FROM jobs WHERE state = 'done'")).rows[0].n === 8;
    // Bounded: halved at each failure (8, 4, 2, 1), a second apart.
    expect(await eventually(async () => (await done()) || (await new Promise((r) => setTimeout(r, 150)), false))).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    const { rows } = await pool.query("SELECT count(*)::int AS n, count(*) FILTER (WHERE error LIKE '(not stored%')::int AS stripped FROM attempts");
    expect(rows[0]).toEqual({ n: 8, stripped: 1 });
  });

  it("waits for a retried batch's member that another session holds for a moment, instead of splitting the batch", async () => {
    const url = await freshDatabase("faults");
    const { queue } = await startProcess(url);
    await store(queue, "t1", [1, 2, 3, 4].map((n) => message(n, ["ep_b"])));
    const now = Date.now();
    const batching = (h: string) => (h === "ep_b" ? lane(4) : null);
    const first = await queue.claimDue(1, { now, leaseMs: 60_000, batching });
    for (const job of first) queue.retryAt(job, now, { ...ok, outcome: "retry", status: 500 });
    await queue.flush();
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT id FROM jobs WHERE id = $1 FOR UPDATE", [first[1]!.key]);
      expect(await queue.claimDue(10, { now, leaseMs: 60_000, batching })).toEqual([]);
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    const retry = await queue.claimDue(10, { now, leaseMs: 60_000, batching });
    expect(retry.map((j) => [j.eventId, j.batch?.id])).toEqual(first.map((j) => [j.eventId, first[0]!.batch!.id]));
  });

  it("sends what is left of a batch that lost members under an id of its own, and a batch larger than today's max_events whole", async () => {
    const url = await freshDatabase("faults");
    const { queue } = await startProcess(url);
    await store(queue, "t1", [1, 2, 3, 4, 5, 6, 7, 8].map((n) => message(n, ["ep_b"])));
    const now = Date.now();
    const batching = (max: number) => (h: string) => (h === "ep_b" ? lane(max) : null);
    const first = await queue.claimDue(1, { now, leaseMs: 60_000, batching: batching(4) });
    expect(first.map((j) => j.eventId)).toEqual(["$e1", "$e2", "$e3", "$e4"]);
    // Sent alone after all (the hook changed after the claim): one succeeded, three wait for a retry.
    queue.complete(first[0]!, ok);
    for (const job of first.slice(1)) queue.retryAt(job, now, { ...ok, outcome: "retry", status: 500 });
    await queue.flush();
    const again = await queue.claimDue(10, { now, leaseMs: 60_000, batching: batching(4) });
    expect(again.map((j) => j.eventId)).toEqual(["$e2", "$e3", "$e4", "$e5", "$e6", "$e7", "$e8"]);
    const left = again.slice(0, 3).map((j) => j.batch);
    expect(new Set(left.map((t) => t?.id)).size).toBe(1);
    expect(left[0]).toMatchObject({ size: 3 });
    expect(left[0]!.id).not.toBe(first[0]!.batch!.id);
    for (const job of again) queue.retryAt(job, now, { ...ok, outcome: "retry", status: 500 });
    await queue.flush();
    // max_events lowered to 1: a batch tagged before still goes whole, with its members.
    const lowered = await queue.claimDue(10, { now, leaseMs: 60_000, batching: batching(1), perHookLimit: 1 });
    expect(lowered.map((j) => j.eventId)).toEqual(["$e2", "$e3", "$e4"]);
    expect(lowered.map((j) => j.batch?.id)).toEqual(left.map((t) => t?.id));
  });

  it("loses no job of a hook that stopped batching and started again", async () => {
    const url = await freshDatabase("faults");
    const { queue } = await startProcess(url);
    await store(queue, "t1", [1, 2, 3, 4, 5, 6].map((n) => message(n, ["ep_b"])));
    const now = Date.now();
    const batching = (h: string) => (h === "ep_b" ? lane(4) : null);
    const tagged = await queue.claimDue(1, { now, leaseMs: 60_000, batching });
    for (const job of tagged) queue.retryAt(job, now, { ...ok, outcome: "retry", status: 500 });
    await queue.flush();
    // Batching off: two go alone (the claim leases the rest ahead), one of them is delivered.
    const alone = await queue.claimDue(2, { now, leaseMs: 60_000 });
    expect(alone.map((j) => [j.eventId, j.batch])).toEqual([["$e1", undefined], ["$e2", undefined]]);
    queue.complete(alone[0]!, ok);
    queue.retryAt(alone[1]!, now, { ...ok, outcome: "retry", status: 500 });
    await queue.flush();
    // Batching on again: every job still pending goes, in order.
    const back = await queue.claimDue(10, { now, leaseMs: 60_000, batching });
    expect(back.map((j) => j.eventId)).toEqual(["$e2", "$e3", "$e4", "$e5", "$e6"]);
  });

  it("keeps the per-hook limit for one claim that takes jobs leased ahead and fresh ones", async () => {
    const url = await freshDatabase("faults");
    const { queue } = await startProcess(url);
    await store(queue, "t1", Array.from({ length: 6 }, (_, i) => message(i, ["ep_a", "ep_b"])));
    const opts = () => ({ now: Date.now(), leaseMs: 60_000, perHookLimit: 2 });
    // The first claim leases ahead; the second takes from what it keeps and fresh jobs of the same and other hooks.
    const first = await queue.claimDue(1, opts());
    expect(first).toHaveLength(1);
    await store(queue, "t2", Array.from({ length: 6 }, (_, i) => message(10 + i, ["ep_c"])));
    const second = await queue.claimDue(10, opts());
    const perHook = new Map<string, number>();
    for (const job of second) perHook.set(job.hookId, (perHook.get(job.hookId) ?? 0) + 1);
    expect([...perHook.values()].every((n) => n <= 2)).toBe(true);
    expect(perHook.get("ep_c")).toBe(2);
  });

  it("stops claiming when an exclusive queue's session lock is lost, and starts again once it holds it again", async () => {
    const url = await freshDatabase("faults");
    const errors: string[] = [];
    const { pool, queue } = await startProcess(url, { exclusive: true, onBackgroundError: (err) => errors.push(String(err)) });
    await store(queue, "t1", [message(1, ["ep_a"]), message(2, ["ep_a"])]);
    // The lock's connection is cut (a network blip, a restarted pooler).
    await pool.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND pid <> pg_backend_pid()", [0x6d776201]);
    let stopped = false;
    expect(await eventually(async () => (stopped = (await queue.claimDue(1, { now: Date.now(), leaseMs: 60_000 })).length === 0))).toBe(true);
    expect(stopped).toBe(true);
    // Back within a few seconds, with the lock taken again: the jobs go out.
    let claimed = 0;
    expect(await eventually(async () => (claimed += (await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 })).length) >= 1)).toBe(true);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1", [0x6d776201]);
    expect(rows[0].n).toBe(1);
  });

  it("gives back what a claim under way leased ahead when the queue closes meanwhile", async () => {
    const url = await freshDatabase("faults");
    const { pool, queue } = await startProcess(url);
    await store(queue, "t1", Array.from({ length: 100 }, (_, i) => message(i, ["ep_a"])));
    const claim = queue.claimDue(1, { now: Date.now(), leaseMs: 600_000 });
    const closed = queue.close();
    const [taken] = await Promise.all([claim, closed]);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM jobs WHERE lease_until IS NOT NULL");
    // Only what the worker was handed keeps its lease.
    expect(rows[0].n).toBe(taken.length);
  });

  it("says when to look again from the next retry, a batch's wait and a strict hook's oldest job, leaving skipped hooks out", async () => {
    const url = await freshDatabase("faults");
    const { queue } = await startProcess(url);
    await store(queue, "t1", [message(1, ["ep_skip", "ep_plain", "ep_strict"]), message(2, ["ep_strict"])]);
    const now = Date.now();
    const jobs = await queue.claimDue(10, { now, leaseMs: 60_000 });
    const of = (hook: string) => jobs.filter((j) => j.hookId === hook);
    const fail: AttemptRecord = { ...ok, outcome: "retry", status: 500 };
    queue.retryAt(of("ep_skip")[0]!, now + 1000, fail);
    queue.retryAt(of("ep_plain")[0]!, now + 3000, fail);
    // The strict hook's oldest job stays in flight (its lease runs a minute); its second job is free.
    queue.complete(of("ep_strict")[1]!, ok);
    await queue.flush();
    const opts = { skipHooks: new Set(["ep_skip"]), strictHooks: new Set(["ep_strict"]) };
    expect(await queue.nextDueAt(opts)).toBe(now + 3000);
    // A batching hook's first due job goes after its wait: earlier than the retry.
    await store(queue, "t2", [message(3, ["ep_batch"])]);
    const stored = Date.now();
    const next = await queue.nextDueAt({ ...opts, batching: (h) => (h === "ep_batch" ? { maxEvents: 10, maxWaitMs: 500, alone: () => false } : null) });
    expect(next).toBeGreaterThanOrEqual(now + 500);
    expect(next).toBeLessThanOrEqual(stored + 500);
    // Only jobs of skipped hooks: nothing to wait for.
    expect(await queue.nextDueAt({ skipHooks: new Set(["ep_skip", "ep_plain", "ep_strict", "ep_batch"]) })).toBeNull();
  });
});
