import { describe, expect, it } from "vitest";
import { beforeHookNote } from "./before-hook-notice.js";

const authority = (bot: number, redact?: number) => ({ powerLevels: { users: { "@bot:x": bot }, ...(redact === undefined ? {} : { redact }) }, privilegedCreators: [] });

describe("beforeHookNote", () => {
  it("says what the module guarantees and whether the bot can redact", () => {
    expect(beforeHookNote(authority(100), "@bot:x", true)).toMatch(/before anyone sees them by the homeserver's pre-send module;.*I can redact here \(my power level 100, redacting needs 50\)/);
    expect(beforeHookNote(authority(0), "@bot:x", false)).toMatch(/no pre-send module configured.*others may see it until then; I cannot redact here \(my power level 0, redacting needs 50\): raise my power level/);
    expect(beforeHookNote(authority(50, 75), "@bot:x", false)).toMatch(/I cannot redact here \(my power level 50, redacting needs 75\)/);
  });
});
