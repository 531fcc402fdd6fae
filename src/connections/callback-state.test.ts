import { describe, expect, it } from "vitest";
import { validateOutboundHookContent } from "./outbound-hook-state.js";

const base = { name: "gate", url: "https://app.example/cb", format: "tencent" };

describe("callback fields of an outbound hook (format tencent)", () => {
  it("defaults to an after-callback as Tencent calls them: 2 s, not retried, signed, POST", () => {
    expect(validateOutboundHookContent("gate", base)).toMatchObject({
      ok: true,
      value: { method: "POST", callback: { phase: "after", commands: null, sdkAppId: "0", sign: true, retry: false, timeoutMs: 2000, onFailure: "allow" } },
    });
  });

  it("reads a before-hook's settings", () => {
    const result = validateOutboundHookContent("gate", {
      ...base, phase: "before", callback_commands: ["Group.CallbackBeforeSendMsg"], sdk_app_id: 1400000001, sign: false, timeout_ms: 500, on_failure: "reject",
    });
    expect(result).toMatchObject({
      ok: true,
      value: { callback: { phase: "before", commands: ["Group.CallbackBeforeSendMsg"], sdkAppId: "1400000001", sign: false, timeoutMs: 500, onFailure: "reject" } },
    });
  });

  it("has no callback settings for other formats", () => {
    expect(validateOutboundHookContent("ci", { name: "ci", url: "https://a.example/" })).toMatchObject({ ok: true, value: { callback: null } });
  });

  it.each([
    [{ name: "ci", url: "https://a.example/", phase: "before" }, /phase: only a hook with format tencent reads it/],
    [{ ...base, phase: "during" }, /phase: must be one of after, before/],
    [{ ...base, timeout_ms: 50 }, /timeout_ms: must be >= 100/],
    [{ ...base, timeout_ms: 60_000 }, /timeout_ms: must be <= 10000/],
    [{ ...base, sdk_app_id: "14x" }, /sdk_app_id/],
    [{ ...base, callback_commands: ["Group.CallbackBeforeSendMsg"] }, /callback_commands\/0: "Group.CallbackBeforeSendMsg" is not an after-event command word/],
    [{ ...base, callback_commands: ["drop tables"] }, /callback_commands\/0: must match pattern/],
    [{ ...base, on_failure: "reject" }, /on_failure: only a before-hook/],
    [{ ...base, phase: "before", retry: true }, /retry: a before-hook is never retried/],
  ])("refuses %j", (content, problem) => {
    const result = validateOutboundHookContent(content.name, content);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.join("; ")).toMatch(problem);
  });
});
