import { describe, expect, it } from "vitest";
import { ClaimBuffer } from "./claim-buffer.js";
import type { ClaimOptions, ClaimedJob } from "./queue.js";

const job = (key: number, hookId: string): ClaimedJob => ({ key, id: `msg_${key}`, eventId: `$e${key}`, hookId, roomId: "!r:x", attempts: 0, dueAt: 0, body: "{}" });
const opts = (extra: Partial<ClaimOptions> = {}): ClaimOptions => ({ now: 1000, leaseMs: 10_000, ...extra });

describe("ClaimBuffer", () => {
  it("hands out jobs by the claim's rules: limit, skipped hooks, per-hook limit, in order", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a"), job(2, "a"), job(3, "a"), job(4, "b"), job(5, "c")], 11_000);
    const first = buffer.take(3, opts({ perHookLimit: 2, skipHooks: new Set(["b"]) }));
    expect(first.taken.map((j) => j.key)).toEqual([1, 2, 5]);
    expect(first.released).toEqual([]);
    expect(buffer.hasClaimable(new Set(["a", "b"]))).toBe(false);
    // The next take starts at another hook.
    expect(buffer.take(10, opts()).taken.map((j) => j.key)).toEqual([4, 3]);
    expect(buffer.size).toBe(0);
    expect(buffer.bytes).toBe(0);
  });

  it("starts each take at another hook, so that a small claim does not always serve the same one", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a"), job(2, "a"), job(3, "b"), job(4, "b"), job(5, "c"), job(6, "c")], 11_000);
    const firsts = [0, 1, 2].map(() => buffer.take(1, opts()).taken[0]!.hookId);
    expect(new Set(firsts)).toEqual(new Set(["a", "b", "c"]));
  });

  it("counts the jobs and bytes it holds, whichever way they leave", () => {
    const buffer = new ClaimBuffer();
    const big = { ...job(2, "b"), body: "x".repeat(100) };
    buffer.add([job(1, "a"), big, job(3, "c")], 11_000);
    expect([buffer.size, buffer.bytes]).toEqual([3, 104]);
    buffer.take(10, opts({ strictHooks: new Set(["a"]), skipHooks: new Set(["b"]) }));
    expect([buffer.size, buffer.bytes]).toEqual([1, 100]);
    buffer.dropHook("b");
    expect([buffer.size, buffer.bytes]).toEqual([0, 0]);
  });

  it("gives back, at the next take, a job whose lease ran short behind others of its hook (leases of different lengths)", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a")], 11_000);
    buffer.add([job(2, "a")], 5000);
    const { taken, released } = buffer.take(0, opts());
    expect(taken).toEqual([]);
    expect(released.map((j) => j.key)).toEqual([2]);
    expect(buffer.take(10, opts()).taken.map((j) => j.key)).toEqual([1]);
  });

  it("gives back jobs whose lease is half gone, or whose hook now batches or keeps strict order", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a")], 5000);
    buffer.add([job(2, "s"), job(3, "b"), job(4, "ok")], 11_000);
    const { taken, released } = buffer.take(10, opts({ strictHooks: new Set(["s"]), batching: (h) => (h === "b" ? { maxEvents: 2, maxWaitMs: 0, alone: () => false } : null) }));
    expect(taken.map((j) => j.key)).toEqual([4]);
    expect(released.map((j) => j.key)).toEqual([1, 2, 3]);
  });

  it("gives back jobs of a hook the claiming process no longer knows (onlyHooks), instead of handing them out", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "known"), job(2, "gone")], 11_000);
    const { taken, released } = buffer.take(10, opts({ onlyHooks: (h) => h === "known" }));
    expect(taken.map((j) => j.key)).toEqual([1]);
    expect(released.map((j) => j.key)).toEqual([2]);
  });

  it("hands out a job only while its lease covers the worker's timeout: at most 15 s in the buffer for long leases", () => {
    const buffer = new ClaimBuffer();
    // Lease 90 s (a 60 s timeout): 44 s in the buffer leaves 46 s, less than the timeout.
    buffer.add([job(1, "a"), job(2, "a")], 90_000);
    expect(buffer.take(1, { now: 14_000, leaseMs: 90_000 }).taken.map((j) => j.key)).toEqual([1]);
    expect(buffer.take(1, { now: 44_000, leaseMs: 90_000 })).toEqual({ taken: [], released: [job(2, "a")] });
  });

  it("gives back a job leased for longer than the claim asks (it would come back late, should the worker die)", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a")], 61_000);
    // Leased by a store while the claim was running (its `now` a moment older): handed out.
    buffer.add([job(2, "b")], 11_500);
    expect(buffer.take(10, opts())).toEqual({ taken: [job(2, "b")], released: [job(1, "a")] });
  });

  it("counts with what the claim took of each hook before", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a"), job(2, "a"), job(3, "b")], 11_000);
    const perHook = new Map([["a", 1]]);
    expect(buffer.take(10, opts({ perHookLimit: 2 }), perHook).taken.map((j) => j.key)).toEqual([1, 3]);
    expect([...perHook]).toEqual([["a", 2], ["b", 1]]);
  });

  it("drops a removed hook's jobs and drains", () => {
    const buffer = new ClaimBuffer();
    buffer.add([job(1, "a"), job(2, "b")], 11_000);
    expect(buffer.dropHook("a").map((j) => j.key)).toEqual([1]);
    expect(buffer.drain().map((j) => j.key)).toEqual([2]);
    expect(buffer.size).toBe(0);
  });
});
