// The delivery queue's contract (queue.ts), as tests that every engine runs: the SQLite queue in
// the unit project (sqlite-queue.contract.test.ts), the PostgreSQL queue against a real server in
// the postgres project (postgres-queue.pg.test.ts). Engine-specific behaviour (memory bounds, the
// writer thread, several processes) is tested next to each engine.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LaneBatching } from "../batch.js";
import type { AttemptRecord, ClaimOptions, ClaimedJob, DeliveryQueue, OutboundMessage } from "./queue.js";

export interface QueueUnderTest {
  queue: DeliveryQueue;
  /** A new queue on the same store, as after a restart: the old one is closed, or abandoned with `killed` (its leases left as they were). */
  restart(opts?: { killed?: boolean }): Promise<DeliveryQueue>;
  /** Closes whatever the test left open and removes the store. */
  dispose(): Promise<void>;
}

const TS = 1_700_000_000_000;
const ok: AttemptRecord = { outcome: "success", status: 200, error: null, durationMs: 3, responseBody: "" };
const fail: AttemptRecord = { outcome: "retry", status: 500, error: null, durationMs: 3, responseBody: "boom" };
const BATCHING_HOOK = "ep_batch";

export function describeQueueContract(engine: string, open: () => Promise<QueueUnderTest>): void {
  describe(`DeliveryQueue contract: ${engine}`, () => {
    let store: QueueUnderTest;
    let queue: DeliveryQueue;

    beforeEach(async () => {
      store = await open();
      queue = store.queue;
    });
    afterEach(() => store.dispose());

    const message = (eventId: string, hookIds = ["ep_a", "ep_b"], originTs = TS): OutboundMessage => ({ eventId, originTs, roomId: "!r:x", body: `{"event_id":"${eventId}"}`, hookIds });
    const store1 = (txnId: string, messages: OutboundMessage[]) => queue.storeTransaction({ txnId, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
    const claim = (now = Date.now(), extra: Partial<ClaimOptions> = {}, limit = 100) => queue.claimDue(limit, { now, leaseMs: 10_000, ...extra });
    const names = (jobs: readonly ClaimedJob[]) => jobs.map((j) => `${j.eventId}>${j.hookId}`);

    it("stores one job per (event, hook), marks the transaction handled, and stores a re-sent event once", async () => {
      expect(await queue.handledEvents("t1")).toBeNull();
      expect((await store1("t1", [message("$e1")])).jobs).toBe(2);
      expect(await queue.handledEvents("t1")).toEqual(new Set(["$e1"]));
      expect((await store1("t2", [message("$e1")])).jobs).toBe(0);
      expect(await queue.depth()).toBe(2);
      expect(await queue.eventForJob((await claim())[0]!.key)).toBe('{"event_id":"$e1"}');
    });

    it("keeps a re-used transaction id's event ids: one more event stores only its own jobs", async () => {
      await store1("t1", [message("$e1", ["ep_a"])]);
      const again = await queue.storeTransaction({ txnId: "t1", eventIds: ["$e1", "$e2"], messages: [message("$e1", ["ep_a"]), message("$e2", ["ep_a"])], followUps: [] });
      expect(again.jobs).toBe(1);
      expect(await queue.handledEvents("t1")).toEqual(new Set(["$e1", "$e2"]));
    });

    it("keeps a transaction's follow-ups across a restart until each is done, and stores an event's once", async () => {
      const command = { eventId: "$c1", event: '{"type":"m.room.message"}' };
      const stored = await queue.storeTransaction({ txnId: "t1", eventIds: ["$c1"], messages: [], followUps: [command] });
      expect(stored.newFollowUps).toEqual([true]);
      expect((await queue.storeTransaction({ txnId: "t2", eventIds: ["$c1"], messages: [], followUps: [command] })).newFollowUps).toEqual([false]);
      queue = await store.restart();
      expect(await queue.pendingFollowUps()).toEqual([{ txnId: "t1", ...command }]);
      await queue.followUpDone("$c1");
      expect(await queue.pendingFollowUps()).toEqual([]);
    });

    it("leases a claimed job, hands it out again after the lease, and ignores the late report of the old lease", async () => {
      await store1("t1", [message("$e1", ["ep_a"])]);
      const now = Date.now();
      const [stale] = await claim(now, { leaseMs: 1000 });
      expect(stale).toBeDefined();
      expect(await claim(now + 500, { leaseMs: 1000 })).toHaveLength(0);
      const [current] = await claim(now + 1500, { leaseMs: 1000 });
      expect(current!.key).toBe(stale!.key);
      expect(current!.id).toBe(stale!.id);
      queue.complete(stale!, ok);
      await queue.flush();
      expect(await queue.depth()).toBe(1);
      queue.complete(current!, ok);
      await queue.flush();
      expect(await queue.depth()).toBe(0);
    });

    it("hands a killed process's claimed jobs out again, with the same webhook-id, once their lease ended", async () => {
      await store1("t1", [message("$e1", ["ep_a"])]);
      const now = Date.now();
      const [first] = await claim(now, { leaseMs: 60_000 });
      queue = await store.restart({ killed: true });
      const again = await claim(now + 60_001, { leaseMs: 60_000 });
      expect(again.map((j) => [j.eventId, j.id])).toEqual([["$e1", first!.id]]);
    });

    it("completes, reschedules and dead-letters, counted in the hook's status", async () => {
      await store1("t1", [message("$e1", ["ep_a"]), message("$e2", ["ep_a"]), message("$e3", ["ep_a"])]);
      const now = Date.now();
      const [j1, j2, j3] = await claim(now);
      queue.complete(j1!, ok);
      queue.retryAt(j2!, now + 5000, fail);
      queue.deadLetter(j3!, "gave up", { ...fail, outcome: "failed" });
      await queue.flush();
      expect(await claim(now + 100)).toHaveLength(0);
      const next = await queue.nextDueAt();
      expect(next).toBe(now + 5000);
      const [retry] = await claim(now + 5000);
      expect(retry!.eventId).toBe("$e2");
      expect(retry!.attempts).toBe(1);
      const status = await queue.hookStatus("ep_a", 10);
      expect({ pending: status.pending, dead: status.dead, delivered: status.delivered }).toEqual({ pending: 1, dead: 1, delivered: 1 });
      expect(status.recent.map((a) => [a.eventId, a.outcome])).toEqual([["$e3", "failed"], ["$e2", "retry"], ["$e1", "success"]]);
    });

    it("keeps a busy hook to its per-hook limit and skips skipped hooks", async () => {
      await store1("t1", Array.from({ length: 10 }, (_, i) => message(`$b${i}`, ["ep_busy"])));
      await store1("t2", [message("$q1", ["ep_quiet"]), message("$s1", ["ep_skipped"])]);
      const jobs = await claim(Date.now(), { perHookLimit: 3, skipHooks: new Set(["ep_skipped"]) });
      expect(jobs.filter((j) => j.hookId === "ep_busy")).toHaveLength(3);
      expect(names(jobs.filter((j) => j.hookId !== "ep_busy"))).toEqual(["$q1>ep_quiet"]);
    });

    it("gives a strict hook its oldest pending job only, one at a time, a retry before newer events", async () => {
      await store1("t1", [message("$e1", ["ep_s"]), message("$e2", ["ep_s"])]);
      const strictHooks = new Set(["ep_s"]);
      const now = Date.now();
      const [first, ...rest] = await claim(now, { strictHooks });
      expect(first!.eventId).toBe("$e1");
      expect(rest).toEqual([]);
      expect(await claim(now, { strictHooks })).toEqual([]);
      queue.retryAt(first!, now + 1000, fail);
      await queue.flush();
      expect(await claim(now + 10, { strictHooks })).toEqual([]);
      expect(await queue.nextDueAt({ strictHooks })).toBe(now + 1000);
      const [retried] = await claim(now + 1000, { strictHooks });
      expect(retried!.eventId).toBe("$e1");
      queue.complete(retried!, ok);
      await queue.flush();
      expect(names(await claim(now + 1000, { strictHooks }))).toEqual(["$e2>ep_s"]);
    });

    it("replays one event or every dead letter, with the same webhook-id, and a replayed one not twice", async () => {
      await store1("t1", [message("$e1", ["ep_a"]), message("$e2", ["ep_a"])]);
      const now = Date.now();
      const [j1, j2] = await claim(now);
      queue.deadLetter(j1!, "x", fail);
      queue.complete(j2!, ok);
      await queue.flush();
      expect(await queue.replay("ep_a", { dead: true })).toBe(1);
      expect(await queue.replay("ep_a", { dead: true })).toBe(0);
      expect(await queue.replay("ep_a", { eventId: "$e2", originTs: TS })).toBe(1);
      const again = await claim(Date.now());
      expect(again.map((j) => j.id).sort()).toEqual([j1!.id, j2!.id].sort());
      expect((await queue.hookStatus("ep_a", 0)).dead).toBe(0);
    });

    it("wakes listeners when jobs are stored, and drops a removed hook's jobs (a late report of one changes no job)", async () => {
      let woken = 0;
      queue.onEnqueue(() => woken++);
      await store1("t1", [message("$e1"), message("$e2")]);
      expect(woken).toBeGreaterThan(0);
      const inFlight = (await claim(Date.now(), { skipHooks: new Set(["ep_b"]) }, 1))[0]!;
      expect(await queue.cancelHook(inFlight.hookId)).toBeGreaterThanOrEqual(1);
      queue.complete(inFlight, ok);
      await queue.flush();
      expect(await queue.depth()).toBe(2);
      expect((await queue.hookStatus(inFlight.hookId, 10)).pending).toBe(0);
    });

    it("prunes what finished before the cutoff, never pending jobs", async () => {
      await store1("t1", [message("$e1", ["ep_a"]), message("$e2", ["ep_a"])]);
      const [j1] = await claim(Date.now(), {}, 1);
      queue.complete(j1!, ok);
      await queue.flush();
      expect(await queue.prune(Date.now() + 60_000)).toBeGreaterThan(0);
      expect(await queue.depth()).toBe(1);
      expect(names(await claim())).toEqual(["$e2>ep_a"]);
      expect(await queue.handledEvents("t1")).toBeNull();
    });

    describe("batching", () => {
      const event = (n: number, media = false): OutboundMessage => ({
        eventId: `$e${n}`, originTs: TS + n, roomId: "!r:x", hookIds: [BATCHING_HOOK],
        body: JSON.stringify({ event_id: `$e${n}`, type: "m.room.message", content: media ? { msgtype: "m.image", url: "mxc://x/y" } : { msgtype: "m.text", body: `${n}` } }),
      });
      const enqueue = (...ns: number[]) => store1(`t${ns.join("-")}`, ns.map((n) => event(n, n >= 90)));
      const lane = (maxEvents: number, maxWaitMs = 60_000): LaneBatching => ({ maxEvents, maxWaitMs, alone: (j) => j.body.includes('"m.image"') });
      const batchOpts = (batching: LaneBatching, extra: Partial<ClaimOptions> = {}): Partial<ClaimOptions> => ({ batching: (h) => (h === BATCHING_HOOK ? batching : null), ...extra });
      const batches = (jobs: ClaimedJob[]) => {
        const out: Array<{ events: string[]; id: string | null }> = [];
        for (const job of jobs) {
          const last = out[out.length - 1];
          if (last && job.batch && last.id === job.batch.id) last.events.push(job.eventId);
          else out.push({ events: [job.eventId], id: job.batch?.id ?? null });
        }
        return out.map((b) => b.events);
      };

      it("hands out full batches in event order, and the rest once its oldest job waited max_wait_ms", async () => {
        await enqueue(1, 2, 3, 4, 5, 6, 7);
        const now = Date.now();
        const first = await claim(now, batchOpts(lane(3, 1000)));
        expect(batches(first)).toEqual([["$e1", "$e2", "$e3"], ["$e4", "$e5", "$e6"]]);
        expect(first[0]!.batch!.size).toBe(3);
        expect(await claim(now, batchOpts(lane(3, 1000)))).toEqual([]);
        expect(batches(await claim(now + 1001, batchOpts(lane(3, 1000))))).toEqual([["$e7"]]);
      });

      it("retries a batch with the same members and tag, not mixed with newer events", async () => {
        await enqueue(1, 2);
        const now = Date.now();
        const sent = await claim(now, batchOpts(lane(2)));
        await enqueue(3, 4);
        for (const job of sent) queue.retryAt(job, now + 1000, fail);
        await queue.flush();
        const again = await claim(now + 1000, batchOpts(lane(2)));
        expect(batches(again)).toEqual([["$e1", "$e2"], ["$e3", "$e4"]]);
        expect(again[0]!.batch).toEqual(sent[0]!.batch);
        expect(again.slice(0, 2).map((j) => j.attempts)).toEqual([1, 1]);
      });

      it("sends a media event alone and closes the batch before it", async () => {
        await enqueue(1, 2, 91, 3);
        const jobs = await claim(Date.now() + 60_001, batchOpts(lane(5)));
        expect(batches(jobs)).toEqual([["$e1", "$e2"], ["$e91"], ["$e3"]]);
        expect(jobs[2]!.batch).toBeUndefined();
      });

      it("strict: the next batch only once the previous one is finished", async () => {
        await enqueue(1, 2, 3, 4);
        const strictHooks = new Set([BATCHING_HOOK]);
        const now = Date.now();
        const first = await claim(now, batchOpts(lane(2), { strictHooks }));
        expect(batches(first)).toEqual([["$e1", "$e2"]]);
        expect(await claim(now, batchOpts(lane(2), { strictHooks }))).toEqual([]);
        for (const job of first) queue.complete(job, ok);
        await queue.flush();
        expect(batches(await claim(now, batchOpts(lane(2), { strictHooks })))).toEqual([["$e3", "$e4"]]);
      });

      it("hands a batch whose worker never reported out again with the same members", async () => {
        await enqueue(1, 2);
        const now = Date.now();
        const sent = await claim(now, batchOpts(lane(2), { leaseMs: 1000 }));
        const again = await claim(now + 1001, batchOpts(lane(2), { leaseMs: 1000 }));
        expect(batches(again)).toEqual([["$e1", "$e2"]]);
        expect(again[0]!.batch).toEqual(sent[0]!.batch);
      });
    });
  });
}
