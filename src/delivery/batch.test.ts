import { describe, expect, it } from "vitest";
import { batchBody, batchWebhookId, formBatches, groupClaimed, type BatchableJob, type LaneBatching } from "./batch.js";

const job = (n: number, extra: Partial<BatchableJob> = {}): BatchableJob => ({ id: `msg_${n}`, roomId: "!r:x", dueAt: 1000 + n, body: n % 100 === 99 ? "media" : "text", ...extra });
const lane = (maxEvents: number, maxWaitMs: number): LaneBatching => ({ maxEvents, maxWaitMs, alone: (j) => j.body === "media" });
const ids = (formed: ReturnType<typeof formBatches<BatchableJob>>) => formed.groups.map((g) => g.jobs.map((j) => j.id));
const all = { maxGroups: Infinity, moreWaiting: false };

describe("formBatches", () => {
  it("sends full batches at once, in event order, and holds back a short one until its oldest job waited maxWaitMs", () => {
    const due = [1, 2, 3, 4, 5].map((n) => job(n));
    const early = formBatches(due, lane(2, 500), 1002, all);
    expect(ids(early)).toEqual([["msg_1", "msg_2"], ["msg_3", "msg_4"]]);
    expect(early.readyAt).toBe(1005 + 500);
    expect(ids(formBatches(due, lane(2, 500), 1505, all))).toEqual([["msg_1", "msg_2"], ["msg_3", "msg_4"], ["msg_5"]]);
    // Nothing waits at all with maxWaitMs 0.
    expect(ids(formBatches(due, lane(10, 0), 1005, all))).toEqual([["msg_1", "msg_2", "msg_3", "msg_4", "msg_5"]]);
  });

  it("tags each batch with the id of its members, and the same members always get the same id", () => {
    const formed = formBatches([job(1), job(2)], lane(2, 0), 2000, all);
    expect(formed.groups[0]!.tag).toEqual({ id: batchWebhookId(["msg_1", "msg_2"]), size: 2 });
    expect(batchWebhookId(["msg_1", "msg_2"])).toMatch(/^batch_[A-Za-z0-9_-]{32}$/);
    expect(batchWebhookId(["msg_1", "msg_2"])).not.toBe(batchWebhookId(["msg_2", "msg_1"]));
    expect(batchWebhookId(["msg_1", "msg_2"])).not.toBe(batchWebhookId(["msg_1"]));
  });

  it("sends a media job alone, untagged, and closes the batch before it so that order is kept", () => {
    const due = [job(1), job(2), job(99), job(3)];
    const formed = formBatches(due, lane(10, 60_000), 1003, all);
    expect(ids(formed)).toEqual([["msg_1", "msg_2"], ["msg_99"]]);
    expect(formed.groups[1]!.tag).toBeNull();
    expect(formed.readyAt).toBe(1003 + 60_000);
  });

  it("sends a batch sent before with exactly its members again, whatever waits around it", () => {
    const tag = { id: batchWebhookId(["msg_1", "msg_2", "msg_3"]), size: 3 };
    const due = [job(1, { batch: tag }), job(2, { batch: tag }), job(3, { batch: tag }), job(4), job(5)];
    const formed = formBatches(due, lane(5, 60_000), 1005, all);
    expect(ids(formed)).toEqual([["msg_1", "msg_2", "msg_3"]]);
    expect(formed.groups[0]!.tag).toBe(tag);
  });

  it("does not mix rooms in one batch, and a batch with more in the store goes without waiting", () => {
    const due = [job(1), job(2, { roomId: "!other:x" })];
    expect(ids(formBatches(due, lane(10, 60_000), 1002, all))).toEqual([["msg_1"]]);
    expect(ids(formBatches([job(1)], lane(10, 60_000), 1001, { maxGroups: Infinity, moreWaiting: true }))).toEqual([["msg_1"]]);
  });

  it("hands out at most maxGroups requests", () => {
    const due = [1, 2, 3, 4, 5, 6].map((n) => job(n));
    expect(ids(formBatches(due, lane(2, 0), 2000, { maxGroups: 1, moreWaiting: false }))).toEqual([["msg_1", "msg_2"]]);
    expect(formBatches([], lane(2, 0), 2000, all)).toEqual({ groups: [], readyAt: null });
  });
});

describe("batchBody and groupClaimed", () => {
  it("puts each member's JSON, unchanged, in one array", () => {
    expect(JSON.parse(batchBody(['{"a":1}', '{"b":[2]}']))).toEqual([{ a: 1 }, { b: [2] }]);
    expect(batchBody(['{"a":1}'])).toBe('[{"a":1}]');
  });

  it("groups consecutive jobs of one batch and leaves every other job alone", () => {
    const a = { id: "batch_a", size: 2 };
    const b = { id: "batch_b", size: 1 };
    const jobs = [
      { hookId: "h1", n: 1, batch: a }, { hookId: "h1", n: 2, batch: a }, { hookId: "h1", n: 3 }, { hookId: "h1", n: 4 },
      { hookId: "h2", n: 5, batch: b }, { hookId: "h1", n: 6, batch: b },
    ];
    expect(groupClaimed(jobs).map((g) => g.map((j) => j.n))).toEqual([[1, 2], [3], [4], [5], [6]]);
  });
});
