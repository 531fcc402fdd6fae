import { afterAll, describe, expect, it } from "vitest";
import { TransformFailure } from "./sandbox.js";
import { MAX_WAITING_RUNS, ThreadedSandbox } from "./threaded-sandbox.js";

const sandbox = new ThreadedSandbox({ timeoutMs: 300, memoryBytes: 8 * 1024 * 1024 });
afterAll(() => sandbox.stop());

describe("ThreadedSandbox", () => {
  it("runs functions on its own thread, in order, and passes their failures on with their kind", async () => {
    expect(await sandbox.run("result = {plain: `n=${data.n}`, version: 'v2'}", { n: 3 })).toEqual({ plain: "n=3", version: "v2" });
    const runs = await Promise.all([1, 2, 3].map((n) => sandbox.run("result = data.n * 2", { n })));
    expect(runs).toEqual([2, 4, 6]);
    await expect(sandbox.run("throw new Error('nope')", {})).rejects.toMatchObject({ kind: "thrown", message: expect.stringContaining("nope") });
    await expect(sandbox.run("result = 'x'.repeat(50_000_000)", {})).rejects.toMatchObject({ kind: "memory" });
    await expect(sandbox.run("result = (", {})).rejects.toBeInstanceOf(TransformFailure);
  });

  it("an endless loop is stopped at its time limit while the main thread goes on", async () => {
    const order: string[] = [];
    const spinning = sandbox.run("while (true) {}", {}).catch((err: TransformFailure) => order.push(`run: ${err.kind}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    order.push("a timer on the main thread");
    await spinning;
    expect(order).toEqual(["a timer on the main thread", "run: timeout"]);
    expect(await sandbox.run("result = 'after'", {})).toBe("after");
  });

  it("refuses runs beyond the waiting bound, and starts a new thread after a stop", async () => {
    const runs = Array.from({ length: MAX_WAITING_RUNS + 2 }, () => sandbox.run("result = 1", {}).then(() => "ran", (err: TransformFailure) => err.kind));
    const outcomes = await Promise.all(runs);
    expect(outcomes.filter((o) => o === "busy").length).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => o === "ran").length).toBeGreaterThanOrEqual(MAX_WAITING_RUNS);
    const waiting = expect(sandbox.run("while (true) {}", {})).rejects.toThrow(/stopped/);
    await sandbox.stop();
    await waiting;
    expect(await sandbox.run("result = 'again'", {})).toBe("again");
  });
});
