import { describe, expect, it } from "vitest";
import { CheckedMessages } from "./checked-messages.js";

describe("CheckedMessages", () => {
  const key = CheckedMessages.key("!r:x", "@a:x", 1000);

  it("remembers a checked message until it expires, also after it was asked about", () => {
    const checked = new CheckedMessages(60_000);
    checked.remember(key, 0);
    expect(checked.has(key, 1)).toBe(true);
    expect(checked.has(key, 2)).toBe(true);
    expect(checked.has(key, 60_001)).toBe(false);
    expect(checked.has(CheckedMessages.key("!r:x", "@a:x", 1001), 1)).toBe(false);
  });

  it("keeps at most its bound, forgetting the oldest, and drops expired entries as new ones come", () => {
    const checked = new CheckedMessages(1000, 3);
    for (let i = 0; i < 5; i++) checked.remember(`k${i}`, i);
    expect(checked.size).toBe(3);
    expect(checked.has("k0", 5)).toBe(false);
    expect(checked.has("k4", 5)).toBe(true);
    checked.remember("late", 5000);
    expect(checked.size).toBe(1);
  });
});
