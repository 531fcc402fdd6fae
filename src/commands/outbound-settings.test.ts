import { describe, expect, it } from "vitest";
import { CommandError } from "./command-error.js";
import { settingsFromOptions, withSetting } from "./outbound-settings.js";

describe("hook settings from commands", () => {
  it("turns options into state fields", () => {
    expect(settingsFromOptions({ trigger: "#build, #deploy", "trigger-when": "STARTS_WITH", msgtypes: "m.text", "content-type": "json", format: "mattermost" })).toEqual({
      trigger_words: ["#build", "#deploy"], trigger_when: "starts_with", msgtypes: ["m.text"], content_type: "json", format: "mattermost",
    });
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
