import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase, watchStatements } from "../../store/postgres/pg-test-fixtures.js";
import { PostgresDeliveryQueue, type PostgresQueueOptions } from "./postgres-queue.js";
import type { ClaimOptions, OutboundMessage } from "./queue.js";

const TS = 1_700_000_000_000;
const ok = { outcome: "success" as const, status: 200, error: null, durationMs: 1, responseBody: "" };

describe("PostgresDeliveryQueue alone on its database, leasing a transaction's jobs as it stores them", () => {
  const opened: Array<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> = [];
  afterEach(async () => {
    for (const { pool, queue } of opened.splice(0)) {
      await queue.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
  });

  const open = async (opts: Omit<PostgresQueueOptions, "url"> = { exclusive: true, leaseOnStore: { jobs: 100, bytes: 1 << 20, perHook: 50 } }) => {
    const url = await freshDatabase("leasestore");
    const pool = await openPgStore({ url, poolSize: 3 });
    const queue = await PostgresDeliveryQueue.open(pool, { url, ...opts });
    opened.push({ pool, queue });
    return { pool, queue };
  };
  // Numbers the events and transactions of each test: $e1, t2, …
  let n = 0;
  beforeEach(() => {
    n = 0;
  });
  const message = (hookIds: string[]): OutboundMessage => {
    const eventId = `$e${++n}`;
    return { eventId, originTs: TS + n, roomId: "!r:x", body: `{"event_id":"${eventId}"}`, hookIds };
  };
  const store = (queue: PostgresDeliveryQueue, messages: OutboundMessage[]) =>
    queue.storeTransaction({ txnId: `t${++n}`, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
  const claimOpts = (extra: Partial<ClaimOptions> = {}): ClaimOptions => ({ now: Date.now(), leaseMs: 40_000, ...extra });
  /** One delivery of each hook (events $w…): only hooks whose last outcome was a delivery have jobs leased on store. */
  const delivered = async (queue: PostgresDeliveryQueue, hookIds: string[]) => {
    const messages = [{ eventId: `$w${n}`, originTs: TS - 1000 - n, roomId: "!r:x", body: "{}", hookIds }];
    await queue.storeTransaction({ txnId: `w${n}`, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
    for (const job of await queue.claimDue(100, claimOpts())) queue.complete(job, ok);
    await queue.flush();
  };
  const leasedInTable = async (pool: pg.Pool) =>
    (await pool.query<{ event_id: string; hook_id: string; leased: boolean }>(
      "SELECT m.event_id, j.hook_id, j.lease_token IS NOT NULL AS leased FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.state = 'pending' ORDER BY j.id",
    )).rows.map((r) => `${r.event_id}>${r.hook_id}:${r.leased ? "leased" : "free"}`);

  it("leases nothing before its first claim, nor for a hook that has not delivered yet; then leases what the claims would take, and hands it out", async () => {
    const { pool, queue } = await open();
    await store(queue, [message(["ep_a"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:free"]);
    const [first] = await queue.claimDue(10, claimOpts());
    await store(queue, [message(["ep_a"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:leased", "$e3>ep_a:free"]);
    queue.complete(first!, ok);
    await queue.flush();
    expect((await queue.claimDue(10, claimOpts())).map((j) => j.eventId)).toEqual(["$e3"]);
    // ep_a delivered; ep_b never did.
    await store(queue, [message(["ep_a", "ep_b"])]);
    expect(await leasedInTable(pool)).toEqual(["$e3>ep_a:leased", "$e5>ep_a:leased", "$e5>ep_b:free"]);
    const next = await queue.claimDue(10, claimOpts());
    expect(next.map((j) => `${j.eventId}>${j.hookId}`).sort()).toEqual(["$e5>ep_a", "$e5>ep_b"]);
    for (const job of next) queue.complete(job, ok);
    await queue.flush();
    expect(await leasedInTable(pool)).toEqual(["$e3>ep_a:leased"]);
  });

  it("leases no job of a hook that keeps strict order or batches, nor of a hook it does not know", async () => {
    const { pool, queue } = await open();
    await delivered(queue, ["ep_s", "ep_b", "ep_new", "ep_p"]);
    await queue.claimDue(1, claimOpts({ strictHooks: new Set(["ep_s"]), batching: (h) => (h === "ep_b" ? { maxEvents: 5, maxWaitMs: 0, alone: () => false } : null), onlyHooks: (h) => h !== "ep_new" }));
    await store(queue, [message(["ep_s", "ep_b", "ep_new", "ep_p"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_s:free", "$e1>ep_b:free", "$e1>ep_new:free", "$e1>ep_p:leased"]);
  });

  it("stops at its bounds, and leases a hook's new jobs again only once a claim took those left in the table (they go first)", async () => {
    const { pool, queue } = await open({ exclusive: true, leaseOnStore: { jobs: 2, bytes: 1 << 20, perHook: 50 } });
    await delivered(queue, ["ep_a"]);
    await store(queue, [message(["ep_a"]), message(["ep_a"]), message(["ep_a"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:leased", "$e2>ep_a:leased", "$e3>ep_a:free"]);
    expect((await queue.claimDue(2, claimOpts())).map((j) => j.eventId)).toEqual(["$e1", "$e2"]);
    // Room again, but $e3 waits in the table: $e5 goes after it.
    await store(queue, [message(["ep_a"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:leased", "$e2>ep_a:leased", "$e3>ep_a:free", "$e5>ep_a:free"]);
    expect((await queue.claimDue(10, claimOpts())).map((j) => j.eventId)).toEqual(["$e3", "$e5"]);
    await store(queue, [message(["ep_a"])]);
    expect((await leasedInTable(pool)).at(-1)).toBe("$e7>ep_a:leased");
  });

  it("bounds the jobs held of one hook (a paused hook's pile up until they are given back)", async () => {
    const { pool, queue } = await open({ exclusive: true, leaseOnStore: { jobs: 100, bytes: 1 << 20, perHook: 2 } });
    await delivered(queue, ["ep_a", "ep_b"]);
    await store(queue, [message(["ep_a", "ep_b"]), message(["ep_a"]), message(["ep_a"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:leased", "$e1>ep_b:leased", "$e2>ep_a:leased", "$e3>ep_a:free"]);
  });

  it("bounds the bytes held too", async () => {
    const { pool, queue } = await open({ exclusive: true, leaseOnStore: { jobs: 100, bytes: 10, perHook: 50 } });
    await delivered(queue, ["ep_a", "ep_b"]);
    await store(queue, [message(["ep_a"]), message(["ep_b"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:leased", "$e2>ep_b:free"]);
  });

  it("gives the jobs it holds back to the table when closed, for the next run", async () => {
    const { pool, queue } = await open();
    await delivered(queue, ["ep_a"]);
    await store(queue, [message(["ep_a"])]);
    await queue.close();
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:free"]);
  });

  it("gives a job back when a claim would not take it now (its hook turned strict), and the claim reads it from the table", async () => {
    const { pool, queue } = await open();
    await delivered(queue, ["ep_a"]);
    await store(queue, [message(["ep_a"])]);
    const strict = await queue.claimDue(10, claimOpts({ strictHooks: new Set(["ep_a"]) }));
    expect(strict.map((j) => j.eventId)).toEqual(["$e1"]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:leased"]);
  });

  it("claims read the table only for hooks with jobs there it does not hold, and every hook once a second", async () => {
    const { pool, queue } = await open();
    const statements = watchStatements(pool);
    // (The hooks go as an array literal written by JSON.stringify, pg-arrays.ts, or as the array.)
    const hooksOf = (v: unknown): string[] => (typeof v === "string" ? (JSON.parse(`[${v.slice(1, -1)}]`) as string[]) : (v as string[]));
    const claimsReadNow = () => statements.filter((s) => s.text.includes("mwb_claim_plain")).map((s) => hooksOf(s.values[0]));
    await delivered(queue, ["ep_a"]);
    const t0 = Date.now();
    await queue.claimDue(1, claimOpts({ now: t0 }));
    const readsAtStart = claimsReadNow().length;
    await store(queue, [message(["ep_a"])]);
    expect((await queue.claimDue(10, claimOpts({ now: t0 + 10 }))).map((j) => j.eventId)).toEqual(["$e1"]);
    expect(claimsReadNow().length).toBe(readsAtStart);
    // A strict hook's job is in the table: that hook alone is visited.
    await store(queue, [message(["ep_s"])]);
    expect((await queue.claimDue(10, claimOpts({ now: t0 + 20, strictHooks: new Set(["ep_s"]) }))).map((j) => j.eventId)).toEqual(["$e3"]);
    // A second after the last visit of every hook, every hook with pending jobs is visited again.
    await queue.claimDue(10, claimOpts({ now: t0 + 1100 }));
    expect(claimsReadNow().at(-1)?.sort()).toEqual(["ep_a", "ep_s"]);
  });

  it("claims a retry when it is due, without waiting for the visit of every hook", async () => {
    const { queue } = await open();
    await delivered(queue, ["ep_a"]);
    const t0 = Date.now();
    await queue.claimDue(1, claimOpts({ now: t0 }));
    await store(queue, [message(["ep_a"])]);
    const [job] = await queue.claimDue(10, claimOpts({ now: t0 + 10 }));
    queue.retryAt(job!, t0 + 200, { outcome: "retry", status: 500, error: null, durationMs: 1, responseBody: "" });
    await queue.flush();
    expect(await queue.claimDue(10, claimOpts({ now: t0 + 100 }))).toEqual([]);
    expect((await queue.claimDue(10, claimOpts({ now: t0 + 300 }))).map((j) => [j.eventId, j.attempts])).toEqual([["$e1", 1]]);
  });

  it("leases no new job of a hook with a retry waiting, or whose last outcome was not a delivery (it goes with its retries, from the table)", async () => {
    const { pool, queue } = await open();
    await delivered(queue, ["ep_a", "ep_b"]);
    await store(queue, [message(["ep_a"])]);
    const [job] = await queue.claimDue(10, claimOpts());
    queue.retryAt(job!, Date.now() + 60_000, { outcome: "retry", status: 500, error: null, durationMs: 1, responseBody: "" });
    await queue.flush();
    await store(queue, [message(["ep_a", "ep_b"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:free", "$e3>ep_a:free", "$e3>ep_b:leased"]);
  });

  it("never leases on store when other processes share the database", async () => {
    const { pool, queue } = await open({ shared: true, leaseOnStore: { jobs: 100, bytes: 1 << 20, perHook: 50 } });
    await delivered(queue, ["ep_a"]);
    await store(queue, [message(["ep_a"])]);
    expect(await leasedInTable(pool)).toEqual(["$e1>ep_a:free"]);
  });
});
