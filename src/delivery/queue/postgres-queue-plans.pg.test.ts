// The queue's statements keep their way into the jobs whatever the planner's statistics say. The
// case that broke: the jobs analyzed while none was pending (between bursts, or before the
// first), so that the partial index of pending jobs looks like one row. Each outcome write then
// read every pending job and, for each, every outcome of its call: 47 million comparisons,
// 30–40 s in one statement, whose old snapshot slowed every other one (found by the benchmark,
// two workers at 0.11 × the raw rate instead of 0.35).
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";
import { DROP_HOOK_JOBS, PostgresDeliveryQueue, UNLEASE_JOBS } from "./postgres-queue.js";
import type { AttemptRecord, ClaimedJob, OutboundMessage } from "./queue.js";

const ok: AttemptRecord = { outcome: "success", status: 200, error: null, durationMs: 1, responseBody: "" };
const HOOKS = Array.from({ length: 10 }, (_, i) => `ep_${i}`);
const message = (n: number): OutboundMessage => ({ eventId: `$e${n}`, originTs: 1_700_000_000_000 + n, roomId: "!r:x", body: `{"n":${n}}`, hookIds: [HOOKS[n % 10]!, HOOKS[(n + 1) % 10]!] });

/** Stores `count` events (two jobs each) from event number `from` on, 50 events per transaction. */
async function storeEvents(queue: PostgresDeliveryQueue, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n += 50) {
    const messages = Array.from({ length: Math.min(50, from + count - n) }, (_, i) => message(n + i));
    await queue.storeTransaction({ txnId: `t${n}`, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
  }
}

/** Claims until `count` jobs are held (bounded: 100 claims). */
async function claim(queue: PostgresDeliveryQueue, count: number): Promise<ClaimedJob[]> {
  const jobs: ClaimedJob[] = [];
  for (let i = 0; i < 100 && jobs.length < count; i++) jobs.push(...(await queue.claimDue(count - jobs.length, { now: Date.now(), leaseMs: 600_000, perHookLimit: 1000 })));
  return jobs;
}

/**
 * Entries of an index that `run` read, as its own backend counts them (no waiting for shared
 * statistics): inside one transaction, before and after (the backend's count also holds its
 * earlier statements' reads until it reports them).
 */
async function indexReads(client: pg.Client, index: string, run: () => Promise<unknown>): Promise<number> {
  const reads = async () => (await client.query<{ read: number }>("SELECT pg_stat_get_xact_tuples_returned($1::regclass)::float8 AS read", [index])).rows[0]!.read;
  await client.query("BEGIN");
  try {
    const before = await reads();
    await run();
    const after = await reads();
    await client.query("COMMIT");
    return after - before;
  } catch (err) {
    await client.query("ROLLBACK");
    throw err;
  }
}

/**
 * What `run` makes a pool of one connection read of the jobs: entries of each index, and scans of
 * the whole table. From the shared statistics: that backend reports its counts before each answer
 * once told to (pg_stat_force_next_flush), and the reader takes a fresh snapshot of them each time.
 */
async function poolJobReads(pool: pg.Pool, reader: pg.Client, run: () => Promise<unknown>): Promise<Record<string, number>> {
  const reads = async () => {
    await pool.query("SELECT pg_stat_force_next_flush()");
    await reader.query("SELECT pg_stat_clear_snapshot()");
    const indexes = await reader.query<{ name: string; read: number }>("SELECT indexrelname AS name, idx_tup_read::float8 AS read FROM pg_stat_user_indexes WHERE relname = 'jobs'");
    const table = await reader.query<{ scans: number }>("SELECT seq_scan::float8 AS scans FROM pg_stat_user_tables WHERE relname = 'jobs'");
    return { ...Object.fromEntries(indexes.rows.map((r) => [r.name, r.read])), seqScans: table.rows[0]!.scans } as Record<string, number>;
  };
  const before = await reads();
  await run();
  const after = await reads();
  return Object.fromEntries(Object.entries(after).map(([name, n]) => [name, n - (before[name] ?? 0)]));
}

describe("the PostgreSQL queue's plans with statistics of an empty queue (real server)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  });

  /** A fresh database with a queue on a pool of `poolSize`, and a client of its own beside them. */
  const open = async (poolSize: number) => {
    const url = await freshDatabase("plans");
    const pool = await openPgStore({ url, poolSize });
    const queue = await PostgresDeliveryQueue.open(pool, { url });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    cleanups.push(() => pool.end(), () => queue.close(), () => client.end());
    return { pool, queue, client };
  };

  it("writes outcomes and gives jobs back by key, reading no pending job it does not change", async () => {
    const { queue, client } = await open(4);
    // A first burst delivered, then the statistics taken with nothing pending.
    await storeEvents(queue, 0, 500);
    const first = await claim(queue, 1000);
    expect(first).toHaveLength(1000);
    for (const job of first) queue.complete(job, ok);
    await queue.flush();
    await client.query("ANALYZE jobs");
    // The next burst: 6,000 jobs pending, 1,200 of them leased.
    await storeEvents(queue, 500, 3000);
    const leased = await client.query<{ id: number; lease_token: string; hook_id: string }>("SELECT id, lease_token, hook_id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1200");
    await client.query("UPDATE jobs SET lease_until = $1, lease_token = $2 WHERE id = ANY($3::bigint[])", [Date.now() + 600_000, "probe", leased.rows.map((r) => r.id)]);
    const outcomes = leased.rows.slice(0, 1000);
    // As the queue writes outcomes (writePending): one call for many jobs, in key order.
    const record = () => client.query("SELECT mwb_record_outcomes($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)", [
      outcomes.map((r) => r.id), outcomes.map(() => "probe"), outcomes.map(() => "done"), outcomes.map(() => null), outcomes.map(() => null), outcomes.map(() => Date.now()),
      outcomes.map((r) => r.hook_id), outcomes.map((r) => `$job${r.id}`), outcomes.map(() => 1), outcomes.map(() => "success"), outcomes.map(() => 200), outcomes.map(() => null),
      outcomes.map(() => 1), outcomes.map(() => ""), outcomes.map((_, i) => i), "",
    ]);
    expect(await indexReads(client, "jobs_hook_pending", record)).toBe(0);
    const done = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE state = 'done' AND id = ANY($1::bigint[])", [outcomes.map((r) => r.id)]);
    expect(done.rows[0]!.n).toBe(1000);
    // Leases given back (a buffer drained at close): by key too.
    const back = leased.rows.slice(1000);
    expect(await indexReads(client, "jobs_hook_pending", () => client.query(UNLEASE_JOBS, [back.map((r) => r.id), back.map(() => "probe")]))).toBe(0);
    const unleased = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE lease_token IS NULL AND state = 'pending' AND id = ANY($1::bigint[])", [back.map((r) => r.id)]);
    expect(unleased.rows[0]!.n).toBe(200);
    // A hook removed: its own pending jobs are read (each entry once at most), not every hook's.
    const ofHook = await client.query<{ all: number; pending: number }>("SELECT count(*)::int AS all, count(*) FILTER (WHERE state = 'pending')::int AS pending FROM jobs WHERE hook_id = 'ep_0'");
    const pendingTotal = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE state = 'pending'");
    let dropped = 0;
    const reads = await indexReads(client, "jobs_hook_pending", async () => (dropped = (await client.query(DROP_HOOK_JOBS, [Date.now(), "ep_0"])).rowCount ?? 0));
    expect(dropped).toBe(ofHook.rows[0]!.pending);
    expect(reads).toBeLessThanOrEqual(ofHook.rows[0]!.all);
    expect(ofHook.rows[0]!.all).toBeLessThan(pendingTotal.rows[0]!.n / 5);
  });

  it("replays by key with the statistics of a queue where nothing had finished yet, reading no finished job it does not replay", async () => {
    // One connection: every statement of the queue's runs on the backend whose counts are read.
    const { pool, queue, client } = await open(1);
    // A first burst, analyzed before anything finished (the partial index of finished jobs looks
    // like one row); then 3,000 of its jobs dead letters and 2,000 delivered.
    await storeEvents(queue, 0, 2500);
    await client.query("ANALYZE jobs");
    const jobs = await claim(queue, 5000);
    expect(jobs).toHaveLength(5000);
    jobs.forEach((job, i) => (i < 3000 ? queue.deadLetter(job, "gave up", { ...ok, outcome: "retry", status: 500 }) : queue.complete(job, ok)));
    await queue.flush();
    const dead = jobs.find((j) => j.hookId === "ep_3")!;
    const deadOfHook = jobs.slice(0, 3000).filter((j) => j.hookId === "ep_4").length;
    const finished = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE state <> 'pending'")).rows[0]!.n;
    expect(finished).toBe(5000);

    // One event: found through its message and jobs_once, a handful of entries.
    let one = 0;
    const byEvent = await poolJobReads(pool, client, async () => (one = await queue.replay("ep_3", { eventId: dead.eventId, originTs: 1_700_000_000_000 + Number(dead.eventId.slice(2)) })));
    expect(one).toBe(1);
    expect(byEvent).toMatchObject({ jobs_finished: 0, jobs_hook_pending: 0, seqScans: 0 });
    expect(byEvent.jobs_once).toBeLessThanOrEqual(10);
    // A hook's dead letters: its own, from jobs_hook_dead; each checked for a pending copy through jobs_once.
    let all = 0;
    const hookDead = await poolJobReads(pool, client, async () => (all = await queue.replay("ep_4", { dead: true })));
    expect(all).toBe(deadOfHook);
    expect(hookDead).toMatchObject({ jobs_finished: 0, jobs_hook_pending: 0, seqScans: 0 });
    expect(hookDead.jobs_hook_dead).toBeLessThanOrEqual(deadOfHook);
    expect(hookDead.jobs_once).toBeLessThanOrEqual(3 * deadOfHook);
  });
});
