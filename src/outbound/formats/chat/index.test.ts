import { describe, expect, it } from "vitest";
import { CHAT_FORMAT_NAMES } from "./chat-format.js";
import { chatFormat, isChatFormatName } from "./index.js";

describe("chat formats by name", () => {
  it("finds each format under its own name", () => {
    for (const name of CHAT_FORMAT_NAMES) expect(chatFormat(name).name).toBe(name);
    expect(CHAT_FORMAT_NAMES.map((n) => chatFormat(n).allowsDirectMessages)).toEqual([false, true, true]);
  });

  it("recognises only the chat formats' names (no inherited property answers)", () => {
    for (const name of CHAT_FORMAT_NAMES) expect(isChatFormatName(name)).toBe(true);
    for (const name of ["hookshot", "json", "__proto__", "constructor", "toString", "", 1, null]) expect(isChatFormatName(name)).toBe(false);
    expect(() => chatFormat("__proto__" as never)).toThrow(/unknown chat format/);
  });
});
