// Several processes on one PostgreSQL store: each queue here has its own pool and listener, as a
// separate process would; they share only the database.
import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";
import type { LaneBatching } from "../batch.js";
import { PostgresDeliveryQueue } from "./postgres-queue.js";
import type { AttemptRecord, ClaimedJob, OutboundMessage } from "./queue.js";

const ok: AttemptRecord = { outcome: "success", status: 200, error: null, durationMs: 1, responseBody: "" };
const TS = 1_700_000_000_000;

describe("PostgresDeliveryQueue shared by several processes (real server)", () => {
  let url: string;
  const opened: Array<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> = [];
  const startProcess = async () => {
    const pool = await openPgStore({ url, poolSize: 4 });
    const queue = await PostgresDeliveryQueue.open(pool, { url });
    opened.push({ pool, queue });
    return queue;
  };

  beforeEach(async () => {
    url = await freshDatabase("shared");
  });
  afterEach(async () => {
    for (const { pool, queue } of opened.splice(0)) {
      await queue.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
  });

  const message = (n: number, hookIds: string[]): OutboundMessage => ({ eventId: `$e${n}`, originTs: TS + n, roomId: "!r:x", body: `{"n":${n}}`, hookIds });
  const store = (queue: PostgresDeliveryQueue, txnId: string, messages: OutboundMessage[], followUps: Array<{ eventId: string; event: string }> = []) =>
    queue.storeTransaction({ txnId, eventIds: messages.map((m) => m.eventId).concat(followUps.map((f) => f.eventId)), messages, followUps });

  it("never hands one job to two workers claiming at the same time, and loses none", async () => {
    const [a, b] = [await startProcess(), await startProcess()];
    const hooks = ["ep_1", "ep_2", "ep_3", "ep_4", "ep_5"];
    for (let t = 0; t < 10; t++) await store(a, `t${t}`, Array.from({ length: 20 }, (_, i) => message(t * 20 + i, hooks)));
    const seen = new Map<number, number>();
    // Bounded: 1000 jobs, each claim takes up to 16 per worker.
    for (let round = 0; round < 200; round++) {
      const [fromA, fromB] = await Promise.all([a.claimDue(16, { now: Date.now(), leaseMs: 60_000 }), b.claimDue(16, { now: Date.now(), leaseMs: 60_000 })]);
      if (fromA.length + fromB.length === 0) break;
      for (const [queue, jobs] of [[a, fromA], [b, fromB]] as const) {
        for (const job of jobs) {
          seen.set(job.key, (seen.get(job.key) ?? 0) + 1);
          queue.complete(job, ok);
        }
      }
      await Promise.all([a.flush(), b.flush()]);
    }
    expect(seen.size).toBe(1000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(await b.depth()).toBe(0);
  });

  it("wakes the other process's worker by NOTIFY when jobs are stored", async () => {
    const [a, b] = [await startProcess(), await startProcess()];
    const woken = new Promise<void>((resolve) => b.onEnqueue(resolve));
    await store(a, "t1", [message(1, ["ep_x"])]);
    await expect(Promise.race([woken.then(() => "woken"), new Promise((r) => setTimeout(() => r("timeout"), 5000))])).resolves.toBe("woken");
    expect((await b.claimDue(10, { now: Date.now(), leaseMs: 60_000 })).map((j) => j.eventId)).toEqual(["$e1"]);
  });

  it("keeps a strict hook to one delivery in flight across processes", async () => {
    const [a, b] = [await startProcess(), await startProcess()];
    await store(a, "t1", [message(1, ["ep_s"]), message(2, ["ep_s"])]);
    const strictHooks = new Set(["ep_s"]);
    const now = Date.now();
    const [first] = await a.claimDue(10, { now, leaseMs: 60_000, strictHooks });
    expect(first!.eventId).toBe("$e1");
    expect(await b.claimDue(10, { now, leaseMs: 60_000, strictHooks })).toEqual([]);
    a.complete(first!, ok);
    await a.flush();
    expect((await b.claimDue(10, { now, leaseMs: 60_000, strictHooks })).map((j) => j.eventId)).toEqual(["$e2"]);
  });

  it("stores a transaction given to two appservice processes at once once: its jobs once, its command run by one", async () => {
    const [a, b] = [await startProcess(), await startProcess()];
    const messages = Array.from({ length: 50 }, (_, i) => message(i, ["ep_1", "ep_2"]));
    const command = [{ eventId: "$cmd", event: "{}" }];
    const [fromA, fromB] = await Promise.all([store(a, "t1", messages, command), store(b, "t1", messages, command)]);
    expect(fromA.jobs + fromB.jobs).toBe(100);
    expect([...fromA.newFollowUps, ...fromB.newFollowUps].filter(Boolean)).toHaveLength(1);
    expect(await a.depth()).toBe(100);
    expect(await b.handledEvents("t1")).not.toBeNull();
  });

  it("hands a killed worker's batch to another worker after its lease, with the same members and webhook-id", async () => {
    const [a, b] = [await startProcess(), await startProcess()];
    const lane: LaneBatching = { maxEvents: 3, maxWaitMs: 0, alone: () => false };
    const batching = (h: string) => (h === "ep_b" ? lane : null);
    await store(a, "t1", [1, 2, 3, 4].map((n) => message(n, ["ep_b"])));
    const now = Date.now();
    const sent = await a.claimDue(1, { now, leaseMs: 1000, batching });
    expect(sent.map((j) => j.eventId)).toEqual(["$e1", "$e2", "$e3"]);
    // `a` is never heard from again. Its batch's members, not a new grouping, come back.
    await store(b, "t2", [5, 6].map((n) => message(n, ["ep_b"])));
    const again: ClaimedJob[] = await b.claimDue(1, { now: now + 1001, leaseMs: 1000, batching });
    expect(again.map((j) => j.eventId)).toEqual(["$e1", "$e2", "$e3"]);
    expect(again.map((j) => j.batch?.id)).toEqual(sent.map((j) => j.batch?.id));
  });
});

describe("PostgresDeliveryQueue opened exclusive (one bridge process per database)", () => {
  it("refuses a second exclusive process, and hands a killed run's leased jobs out at once", async () => {
    const url = await freshDatabase("exclusive");
    const poolA = await openPgStore({ url, poolSize: 2 });
    const a = await PostgresDeliveryQueue.open(poolA, { url, exclusive: true });
    const poolB = await openPgStore({ url, poolSize: 2 });
    try {
      await expect(PostgresDeliveryQueue.open(poolB, { url, exclusive: true })).rejects.toThrow(/another bridge process already uses this PostgreSQL database/);
      await a.storeTransaction({ txnId: "t1", eventIds: ["$e1"], messages: [{ eventId: "$e1", originTs: TS, roomId: "!r:x", body: "{}", hookIds: ["ep_a"] }], followUps: [] });
      const [leased] = await a.claimDue(1, { now: Date.now(), leaseMs: 600_000 });
      // `a` dies: its listening connection (and lock) go with it; its lease stays in the table.
      await a.close();
      await poolA.end();
      const b = await PostgresDeliveryQueue.open(poolB, { url, exclusive: true });
      const again = await b.claimDue(1, { now: Date.now(), leaseMs: 600_000 });
      expect(again.map((j) => j.id)).toEqual([leased!.id]);
      await b.close();
    } finally {
      await poolB.end().catch(() => undefined);
      await poolA.end().catch(() => undefined);
    }
  });
});

describe("PostgresDeliveryQueue follow-ups across appservice processes", () => {
  const open = async (url: string, runId?: string, opts: { shared?: boolean; exclusive?: boolean } = { shared: true }) => {
    const pool = await openPgStore({ url, poolSize: 2, ...(runId ? { runId } : {}) });
    const queue = await PostgresDeliveryQueue.open(pool, { url, ...opts, ...(runId ? { runId } : {}) });
    return { pool, queue, async stop() { await queue.close(); await pool.end(); } };
  };
  const withCommand = (n: number) => ({ txnId: `t${n}`, eventIds: [`$c${n}`], messages: [], followUps: [{ eventId: `$c${n}`, event: `{"n":${n}}` }] });

  it("leaves a live run's follow-ups to it, and takes over those of a run that died, once", async () => {
    const url = await freshDatabase("owners");
    const a = await open(url, "run-a");
    const b = await open(url, "run-b");
    const c = await open(url, "run-c");
    try {
      await a.queue.storeTransaction(withCommand(1));
      expect((await a.queue.pendingFollowUps()).map((f) => f.eventId)).toEqual(["$c1"]);
      // `a` is alive (its session lock is held): the others leave its command alone.
      expect(await b.queue.pendingFollowUps()).toEqual([]);
      await a.stop();
      // `a` is gone: `b` and `c` ask at once, and exactly one of them runs the command.
      const [fromB, fromC] = await Promise.all([b.queue.pendingFollowUps(), c.queue.pendingFollowUps()]);
      expect([...fromB, ...fromC].map((f) => f.eventId)).toEqual(["$c1"]);
      const taker = fromB.length === 1 ? b : c;
      await taker.queue.followUpDone("$c1");
      expect([...(await b.queue.pendingFollowUps()), ...(await c.queue.pendingFollowUps())]).toEqual([]);
    } finally {
      await Promise.all([a, b, c].map((p) => p.stop().catch(() => undefined)));
    }
  });

  it("tells a run whose lock was lost for a moment that its follow-up was taken over, so it does not run it too", async () => {
    const url = await freshDatabase("owners");
    const a = await open(url, "run-a");
    const b = await open(url, "run-b");
    try {
      await a.queue.storeTransaction(withCommand(3));
      expect(await a.queue.ownsFollowUp("$c3")).toBe(true);
      // `a`'s listening connection (which holds its run lock) is cut; `b` asks before `a` is back.
      await b.pool.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND pid <> pg_backend_pid()", [0x6d7763]);
      let taken: string[] = [];
      for (let i = 0; i < 50 && taken.length === 0; i++) {
        taken = (await b.queue.pendingFollowUps()).map((f) => f.eventId);
        if (taken.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(taken).toEqual(["$c3"]);
      expect(await a.queue.ownsFollowUp("$c3")).toBe(false);
      expect(await b.queue.ownsFollowUp("$c3")).toBe(true);
      await b.queue.followUpDone("$c3");
      expect(await b.queue.ownsFollowUp("$c3")).toBe(false);
    } finally {
      await Promise.all([a.stop().catch(() => undefined), b.stop()]);
    }
  });

  it("hands follow-ups stored by a process alone on the database (no run id) to the first that asks", async () => {
    const url = await freshDatabase("owners");
    const alone = await open(url, undefined, { exclusive: true });
    await alone.queue.storeTransaction(withCommand(2));
    await alone.stop();
    const b = await open(url, "run-b");
    const c = await open(url, "run-c");
    try {
      expect((await b.queue.pendingFollowUps()).map((f) => f.eventId)).toEqual(["$c2"]);
      expect(await c.queue.pendingFollowUps()).toEqual([]);
    } finally {
      await Promise.all([b.stop(), c.stop()]);
    }
  });
});
