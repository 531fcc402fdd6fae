import { describe, expect, it } from "vitest";
import { classify, nextRetryDelayMs, type RetryPolicy } from "./policy.js";

describe("classify", () => {
  it.each([
    [200, "success"],
    [204, "success"],
    [299, "success"],
    [301, "failed"],
    [400, "failed"],
    [404, "failed"],
    [410, "failed"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
  ] as const)("status %i is %s", (status, verdict) => {
    expect(classify({ kind: "response", status })).toBe(verdict);
  });

  it("retries timeouts and network errors", () => {
    expect(classify({ kind: "timeout" })).toBe("retry");
    expect(classify({ kind: "network", error: "ECONNREFUSED" })).toBe("retry");
  });
});

describe("nextRetryDelayMs", () => {
  const policy: RetryPolicy = { retries: 5, scheduleSeconds: [2, 10, 60, 300, 1800], jitter: 0.2 };
  const middle = () => 0.5;

  it("follows the schedule without jitter at the midpoint", () => {
    expect([1, 2, 3, 4, 5].map((n) => nextRetryDelayMs(policy, n, middle))).toEqual([2000, 10000, 60000, 300000, 1800000]);
  });

  it("stops after the configured number of retries", () => {
    expect(nextRetryDelayMs(policy, 6, middle)).toBeNull();
    expect(nextRetryDelayMs({ ...policy, retries: 0 }, 1, middle)).toBeNull();
  });

  it("repeats the last entry when there are more retries than entries", () => {
    expect(nextRetryDelayMs({ ...policy, retries: 8 }, 8, middle)).toBe(1800000);
  });

  it("spreads delays by at most the jitter fraction", () => {
    expect(nextRetryDelayMs(policy, 1, () => 0)).toBe(1600);
    expect(nextRetryDelayMs(policy, 1, () => 0.999999)).toBeCloseTo(2400, -1);
  });

  it("grows with each retry", () => {
    const delays = [1, 2, 3, 4, 5].map((n) => nextRetryDelayMs(policy, n, middle)!);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]!);
  });
});
