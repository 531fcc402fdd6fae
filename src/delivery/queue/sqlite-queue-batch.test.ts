import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../store/database.js";
import type { LaneBatching } from "../batch.js";
import type { ClaimOptions, ClaimedJob } from "./queue.js";
import { SqliteDeliveryQueue } from "./sqlite-queue.js";
import { closeQueueOnFile, fail, ok, openQueueOnFile, TS } from "./queue-test-fixtures.js";

const HOOK = "ep_batch";

describe("SqliteDeliveryQueue with batching hooks (real SQLite file)", () => {
  let dir: string;
  let db: Db;
  let queue: SqliteDeliveryQueue;

  beforeEach(() => void ({ dir, db, queue } = openQueueOnFile("mwb-queue-batch-")));
  afterEach(() => closeQueueOnFile({ dir, db, queue }));

  const event = (n: number, media = false) => ({
    eventId: `$e${n}`, originTs: TS + n, roomId: "!r:x", hookIds: [HOOK],
    body: JSON.stringify({ event_id: `$e${n}`, type: "m.room.message", content: media ? { msgtype: "m.image", url: "mxc://x/y" } : { msgtype: "m.text", body: `${n}` } }),
  });
  const enqueue = (...ns: number[]) => queue.enqueue(`t${ns.join("-")}`, ns.map((n) => event(n, n >= 90)));
  const lane = (maxEvents: number, maxWaitMs = 60_000): LaneBatching => ({ maxEvents, maxWaitMs, alone: (j) => j.body.includes('"m.image"') });
  const opts = (now: number, batching: LaneBatching, extra: Partial<ClaimOptions> = {}): ClaimOptions => ({ now, leaseMs: 10_000, batching: (h) => (h === HOOK ? batching : null), ...extra });
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
    await enqueue(1, 2, 3, 4, 5);
    const now = Date.now();
    const batching = lane(2);
    const first = await queue.claimDue(10, opts(now, batching));
    expect(batches(first)).toEqual([["$e1", "$e2"], ["$e3", "$e4"]]);
    expect(first[0]!.batch).toEqual({ id: first[1]!.batch!.id, size: 2 });
    expect(first[0]!.batch!.id).not.toBe(first[2]!.batch!.id);
    for (const job of first) queue.complete(job, ok);
    // $e5 waits: the worker is told when it will be ready.
    const readyAt = (await queue.nextDueAt({ batching: () => batching }))!;
    expect(readyAt).toBeGreaterThan(now + 50_000);
    expect(await queue.claimDue(10, opts(readyAt - 1, batching))).toEqual([]);
    expect(batches(await queue.claimDue(10, opts(readyAt, batching)))).toEqual([["$e5"]]);
  });

  it("counts a batch once against the claim's limit and the hook's limit", async () => {
    await enqueue(1, 2, 3, 4, 5, 6);
    const now = Date.now();
    expect(batches(await queue.claimDue(1, opts(now, lane(2))))).toEqual([["$e1", "$e2"]]);
    expect(batches(await queue.claimDue(10, opts(now, lane(2), { perHookLimit: 2 })))).toEqual([["$e3", "$e4"], ["$e5", "$e6"]]);
  });

  it("retries a batch with the same members and tag, not mixed with newer events, with each job's attempts counted", async () => {
    await enqueue(1, 2);
    const now = Date.now();
    const batching = lane(2);
    const [a, b] = await queue.claimDue(10, opts(now, batching));
    queue.retryAt(a!, now + 1000, fail);
    queue.retryAt(b!, now + 1000, fail);
    await enqueue(3);
    // Not due yet: $e3 alone is not a full batch, so nothing goes.
    expect(await queue.claimDue(10, opts(now + 10, batching))).toEqual([]);
    await enqueue(4);
    const later = await queue.claimDue(10, opts(now + 1000, batching));
    expect(batches(later)).toEqual([["$e1", "$e2"], ["$e3", "$e4"]]);
    expect(later[0]!.batch).toEqual(a!.batch);
    expect(later.slice(0, 2).map((j) => j.attempts)).toEqual([1, 1]);
    for (const job of later) queue.complete(job, ok);
    const status = await queue.hookStatus(HOOK, 10);
    expect(status).toMatchObject({ pending: 0, delivered: 4 });
    expect(status.recent.filter((r) => r.outcome === "retry").map((r) => r.eventId).sort()).toEqual(["$e1", "$e2"]);
  });

  it("sends a media event alone and closes the batch before it, keeping the order", async () => {
    await enqueue(1, 2, 90, 3);
    const jobs = await queue.claimDue(10, opts(Date.now(), lane(10)));
    expect(batches(jobs)).toEqual([["$e1", "$e2"], ["$e90"]]);
    expect(jobs[2]!.batch).toBeUndefined();
  });

  it("strict: the next batch only once the previous is finished, and a retried batch first", async () => {
    await enqueue(1, 2, 3, 4);
    const now = Date.now();
    const strict = { strictHooks: new Set([HOOK]) };
    const first = await queue.claimDue(10, opts(now, lane(2), strict));
    expect(batches(first)).toEqual([["$e1", "$e2"]]);
    expect(await queue.claimDue(10, opts(now, lane(2), strict))).toEqual([]);
    expect(await queue.nextDueAt({ ...strict, batching: () => lane(2) })).toBe(now + 10_000); // only the lease's end
    for (const job of first) queue.retryAt(job, now + 500, fail);
    expect(await queue.claimDue(10, opts(now + 100, lane(2), strict))).toEqual([]);
    const again = await queue.claimDue(10, opts(now + 500, lane(2), strict));
    expect(batches(again)).toEqual([["$e1", "$e2"]]);
    for (const job of again) queue.complete(job, ok);
    expect(batches(await queue.claimDue(10, opts(now + 500, lane(2), strict)))).toEqual([["$e3", "$e4"]]);
  });

  it("hands a batch whose worker never reported out again with the same members", async () => {
    await enqueue(1, 2, 3);
    const now = Date.now();
    const first = await queue.claimDue(10, opts(now, lane(3), { leaseMs: 100 }));
    await enqueue(4);
    const again = await queue.claimDue(10, opts(now + 5000, lane(3)));
    expect(batches(again)).toEqual([["$e1", "$e2", "$e3"]]);
    expect(again[0]!.batch).toEqual(first[0]!.batch);
  });
});
