import { describe, expect, it } from "vitest";
import { validateOutboundHookContent } from "./outbound-hook-state.js";

const hook = (extra: Record<string, unknown>) => validateOutboundHookContent("ci", { name: "ci", url: "https://a.example/", ...extra });
const problems = (extra: Record<string, unknown>) => {
  const v = hook(extra);
  return v.ok ? [] : v.problems;
};

describe("an outbound hook's batch setting", () => {
  it("reads the batch, with defaults for what it leaves out", () => {
    expect(hook({ batch: { max_events: 20, max_wait_ms: 250 } })).toMatchObject({ ok: true, value: { batch: { maxEvents: 20, maxWaitMs: 250 } } });
    expect(hook({ batch: {}, format: "json" })).toMatchObject({ ok: true, value: { batch: { maxEvents: 10, maxWaitMs: 1000 } } });
    expect(hook({ batch: { max_events: 1, max_wait_ms: 0 }, format: "hookshot" })).toMatchObject({ ok: true, value: { batch: { maxEvents: 1, maxWaitMs: 0 } } });
    expect(hook({})).toMatchObject({ ok: true, value: { batch: null } });
  });

  it("refuses values out of bounds, of the wrong type and unknown keys, naming the field", () => {
    expect(problems({ batch: { max_events: 0 } })).toEqual(["batch/max_events: must be >= 1"]);
    expect(problems({ batch: { max_events: 101 } })).toEqual(["batch/max_events: must be <= 100"]);
    expect(problems({ batch: { max_wait_ms: 60_001 } })).toEqual(["batch/max_wait_ms: must be <= 60000"]);
    expect(problems({ batch: { max_wait_ms: -1 } })).toEqual(["batch/max_wait_ms: must be >= 0"]);
    expect(problems({ batch: { max_events: "many" } })).toEqual(["batch/max_events: must be integer"]);
    expect(problems({ batch: { max_events: 2.5 } })).toEqual(["batch/max_events: must be integer"]);
    expect(problems({ batch: [1, 2] })).toEqual(["batch: must be object"]);
    expect(problems({ batch: true })).toEqual(["batch: must be object"]);
    expect(problems({ batch: { maxEvents: 5 } })).toEqual(["batch/maxEvents: unknown setting (batch takes max_events and max_wait_ms)"]);
  });

  it("is refused by formats whose receivers take one message per request, and with a transformation function", () => {
    for (const format of ["hookshot-multipart", "slack", "mattermost", "zulip"]) {
      expect(problems({ format, batch: {} })).toEqual([`batch: format ${format} sends one message per request, so it cannot batch (only hookshot and json can: a JSON array of events)`]);
    }
    expect(problems({ format: "tencent", batch: {} })).toContain("batch: format tencent sends one message per request, so it cannot batch (only hookshot and json can: a JSON array of events)");
    expect(problems({ format: "tencent", phase: "before", batch: {} })).toContain("batch: format tencent sends one message per request, so it cannot batch (only hookshot and json can: a JSON array of events)");
    expect(problems({ transformation_function: "result = {}", batch: {} })).toEqual(["batch: a hook with a transformation_function sends each body as the function shapes it, so it cannot batch"]);
  });
});
