import { describe, expect, it } from "vitest";
import { CommandError } from "./command-error.js";
import { settingsFromOptions, withSetting } from "./outbound-settings.js";

describe("hook settings from commands", () => {
  it("turns options into state fields", () => {
    expect(settingsFromOptions({ trigger: "#build, #deploy", "trigger-when": "STARTS_WITH", msgtypes: "m.text", "content-type": "json", format: "mattermost" })).toEqual({
      trigger_words: ["#build", "#deploy"], trigger_when: "starts_with", msgtypes: ["m.text"], content_type: "json", format: "mattermost",
    });
  });

  it("turns a callback's options into its state fields", () => {
    expect(settingsFromOptions({ format: "tencent", phase: "before", "timeout-ms": "500", "on-failure": "reject", sign: "off", "sdk-app-id": "1400000001", commands: "Group.CallbackBeforeSendMsg" })).toEqual({
      format: "tencent", phase: "before", timeout_ms: 500, on_failure: "reject", sign: false, sdk_app_id: "1400000001", callback_commands: ["Group.CallbackBeforeSendMsg"],
    });
    expect(withSetting({ format: "tencent" }, "retry", "on")).toEqual({ format: "tencent", retry: true });
    expect(() => withSetting({}, "sign", "maybe")).toThrow(/must be on or off/);
    // Not a number: left as text for the state's validation to refuse with its range.
    expect(withSetting({}, "timeout-ms", "2s")).toEqual({ timeout_ms: "2s" });
  });

  it("changes one setting and keeps every other field, Hookshot's and unknown ones included", () => {
    const current = { name: "ci", url: "https://a.example/", method: "PUT", future: { x: 1 } };
    expect(withSetting(current, "trigger", "#build")).toEqual({ ...current, trigger_words: ["#build"] });
    expect(withSetting({ ...current, msgtypes: ["m.text"] }, "msgtypes", "none")).toEqual(current);
    expect(withSetting(current, "method", "post")).toEqual({ ...current, method: "POST" });
    expect(withSetting(current, "tls-profile", "partner")).toEqual({ ...current, tls_profile: "partner" });
    expect(withSetting({ ...current, tls_profile: "partner" }, "tls-profile", "none")).toEqual(current);
  });

  it("refuses unknown settings, bad values and clearing what cannot be cleared, in words", () => {
    expect(() => withSetting({}, "constructor", "x")).toThrow(CommandError);
    expect(() => withSetting({}, "trigger-when", "anywhere")).toThrow(/must be one of first_word, starts_with/);
    expect(() => withSetting({}, "format", undefined)).toThrow(/cannot be cleared/);
  });
});

describe("batch settings from commands", () => {
  it("builds the batch object from its options and keeps the other key", () => {
    expect(settingsFromOptions({ "batch-max-events": "20", "batch-max-wait-ms": "500" })).toEqual({ batch: { max_events: 20, max_wait_ms: 500 } });
    expect(settingsFromOptions({ batch: "on" })).toEqual({ batch: {} });
    const current = { name: "ci", url: "https://a.example/", batch: { max_events: 5, max_wait_ms: 100 } };
    expect(withSetting(current, "batch-max-events", "50")).toEqual({ ...current, batch: { max_events: 50, max_wait_ms: 100 } });
    expect(withSetting(current, "batch-max-wait-ms", "none")).toEqual({ ...current, batch: { max_events: 5 } });
    expect(withSetting(current, "batch", "on")).toEqual(current);
    expect(withSetting(current, "batch", "off")).toEqual({ name: "ci", url: "https://a.example/" });
    // Clearing a part of a batch that is not there does not turn batching on.
    expect(withSetting({ name: "ci" }, "batch-max-events", "none")).toEqual({ name: "ci" });
    expect(() => withSetting({}, "batch", "sometimes")).toThrow(/must be on or off/);
    // Not a number: left for the state's validation to refuse with its range.
    expect(withSetting({}, "batch-max-events", "many")).toEqual({ batch: { max_events: "many" } });
  });
});
