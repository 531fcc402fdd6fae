import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./rate-limit.js";

describe("TokenBuckets", () => {
  it("allows a burst, then refills at the rate, with Retry-After in whole seconds", () => {
    const limiter = new TokenBuckets(60, 3);
    for (let i = 0; i < 3; i++) expect(limiter.take("h", 0)).toEqual({ ok: true });
    expect(limiter.take("h", 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.take("h", 999).ok).toBe(false);
    expect(limiter.take("h", 1000).ok).toBe(true);
    expect(limiter.take("other", 1000).ok).toBe(true);
    const slow = new TokenBuckets(1, 1);
    slow.take("h", 0);
    expect(slow.take("h", 0)).toEqual({ ok: false, retryAfterSeconds: 60 });
  });

  it("drops idle buckets when there are many", () => {
    const limiter = new TokenBuckets(60, 1, 10);
    for (let i = 0; i < 10; i++) limiter.take(`k${i}`, 0);
    expect(limiter.take("k0", 0).ok).toBe(false);
    limiter.take("new", 5000);
    // k0 was full again at 5 s, so it was dropped and starts afresh.
    expect(limiter.take("k0", 5000).ok).toBe(true);
  });
});
