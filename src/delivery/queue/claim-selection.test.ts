import { describe, expect, it } from "vitest";
import { MAX_BATCH_EVENTS, batchWebhookId } from "../batch.js";
import { cutOffBatches, fetchPlan, selectClaim, shortTags, type HookCandidates } from "./claim-selection.js";
import type { ClaimOptions, ClaimedJob } from "./queue.js";

const job = (key: number, hookId: string, batch?: { id: string; size: number }): ClaimedJob =>
  ({ key, id: `msg_${key}`, eventId: `$e${key}`, hookId, roomId: "!r:x", attempts: 1, dueAt: 0, body: "{}", ...(batch ? { batch } : {}) });
const batching = (maxEvents: number) => (hookId: string) => (hookId === "b" ? { maxEvents, maxWaitMs: 0, alone: () => false } : null);
const opts = (extra: Partial<ClaimOptions> = {}): ClaimOptions => ({ now: 1000, leaseMs: 10_000, ...extra });
const hook = (hookId: string, jobs: ClaimedJob[], moreWaiting = false): HookCandidates => ({ hookId, jobs, oldestPending: jobs[0]?.key ?? 0, moreWaiting });

describe("fetchPlan", () => {
  it("reads what each hook could send, plus one to see whether more wait", () => {
    const plan = fetchPlan(["a", "b", "s"], 10, opts({ perHookLimit: 2, strictHooks: new Set(["s"]), batching: batching(3) }));
    expect(plan).toEqual([
      { hookId: "a", strict: false, fetch: 3 },
      { hookId: "b", strict: false, fetch: 7 },
      { hookId: "s", strict: true, fetch: 2 },
    ]);
  });

  it("asks for more of a hook whose read ended inside a batch tagged under a larger max_events", () => {
    const tag = { id: "batch_old", size: 4 };
    const plan = [{ hookId: "b", strict: false, fetch: 3 }, { hookId: "c", strict: false, fetch: 3 }];
    const candidates = [hook("b", [job(1, "b", tag), job(2, "b", tag), job(3, "b", tag)], true), hook("c", [job(4, "c", { id: "whole", size: 1 }), job(5, "c")], true)];
    expect(cutOffBatches(candidates, plan)).toEqual([{ hookId: "b", strict: false, fetch: 3 + MAX_BATCH_EVENTS }]);
  });
});

describe("selectClaim", () => {
  it("sends a tagged batch again with the same members and id", () => {
    const tag = { id: "batch_old", size: 3 };
    const picked = selectClaim([hook("b", [job(1, "b", tag), job(2, "b", tag), job(3, "b", tag), job(4, "b")])], 10, opts({ batching: batching(1) }));
    expect(picked.map((j) => [j.key, j.batch?.id])).toEqual([[1, "batch_old"], [2, "batch_old"], [3, "batch_old"], [4, batchWebhookId(["msg_4"])]]);
  });

  it("sends what is left of a batch that lost members under an id of its own, and waits for one cut off by the read", () => {
    const tag = { id: "batch_old", size: 4 };
    const left = selectClaim([hook("b", [job(2, "b", tag), job(3, "b", tag), job(5, "b")])], 10, opts({ batching: batching(10) }));
    const retagged = { id: batchWebhookId(["msg_2", "msg_3"]), size: 2 };
    expect(left.map((j) => j.batch)).toEqual([retagged, retagged, { id: batchWebhookId(["msg_5"]), size: 1 }]);
    // The read ended inside the batch and more wait: its other members may be next in the store.
    expect(selectClaim([hook("b", [job(7, "b"), job(8, "b", tag), job(9, "b", tag)], true)], 10, opts({ batching: batching(1) })).map((j) => j.key)).toEqual([7]);
  });

  it("waits for a batch whose missing members the store still has pending (held by a claim elsewhere)", () => {
    const tag = { id: "batch_old", size: 3 };
    const candidates = [hook("b", [job(1, "b", tag), job(3, "b", tag), job(4, "b")])];
    expect(selectClaim(candidates, 10, opts({ batching: batching(10) }), new Map(), new Map([["batch_old", 3]]))).toEqual([]);
    expect(selectClaim(candidates, 10, opts({ batching: batching(10) }), new Map(), new Map([["batch_old", 2]])).map((j) => j.batch?.size)).toEqual([2, 2, 1]);
    expect(shortTags(candidates)).toEqual(["batch_old"]);
  });

  it("keeps the per-hook limit with what the claim took of each hook before", () => {
    const perHook = new Map([["a", 1]]);
    const picked = selectClaim([hook("a", [job(1, "a"), job(2, "a"), job(3, "a")]), hook("c", [job(4, "c")])], 10, opts({ perHookLimit: 2 }), perHook);
    expect(picked.map((j) => j.key)).toEqual([1, 4]);
    expect([...perHook]).toEqual([["a", 2], ["c", 1]]);
  });
});
