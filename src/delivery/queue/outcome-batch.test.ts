import { describe, expect, it } from "vitest";
import { encodeOutcomes, NUMBERS_PER_OUTCOME, OUTCOMES, STATES } from "./outcome-batch.js";
import type { OutcomeWrite } from "./queue-writer.js";

describe("encodeOutcomes", () => {
  it("puts numbers in one typed array, codes every outcome and names each hook once", () => {
    const base = { eventId: "$a", error: null, durationMs: 2, responseBody: "", at: 3000 };
    const outcomes: OutcomeWrite[] = [
      { ...base, key: 1, hookId: "ep_1", attempt: 1, outcome: "success", status: 200, change: "finish", state: "done" },
      { ...base, key: 2, hookId: "ep_2", attempt: 2, outcome: "retry", status: null, error: "ECONNREFUSED", responseBody: null, change: "reschedule", dueAt: 9000 },
      { ...base, key: 3, hookId: "ep_1", attempt: 3, outcome: "failed", status: 404, change: "finish", state: "dead", reason: "HTTP 404" },
      { ...base, key: 4, hookId: "ep_2", attempt: 1, outcome: "dropped", status: null, change: "finish", state: "dropped", reason: "hook removed" },
    ];
    const batch = encodeOutcomes(outcomes);
    expect(batch.hooks).toEqual(["ep_1", "ep_2"]);
    expect([...batch.hookOf]).toEqual([0, 1, 0, 1]);
    const row = (i: number) => [...batch.numbers.subarray(i * NUMBERS_PER_OUTCOME, (i + 1) * NUMBERS_PER_OUTCOME)];
    expect(row(0)).toEqual([1, 1, 200, 2, 3000, NaN]);
    expect(row(1)).toEqual([2, 2, NaN, 2, 3000, 9000]);
    const decoded = [...batch.codes].map((c) => ({ outcome: OUTCOMES[c & 3], reschedule: (c & 4) !== 0, state: STATES[c >> 3] }));
    expect(decoded).toEqual([
      { outcome: "success", reschedule: false, state: "done" },
      { outcome: "retry", reschedule: true, state: "done" },
      { outcome: "failed", reschedule: false, state: "dead" },
      { outcome: "dropped", reschedule: false, state: "dropped" },
    ]);
    expect(batch.errors).toEqual([null, "ECONNREFUSED", null, null]);
    expect(batch.responseBodies).toEqual(["", null, "", ""]);
    expect(batch.reasons).toEqual([null, null, "HTTP 404", "hook removed"]);
  });
});
