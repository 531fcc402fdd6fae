import { describe, expect, it } from "vitest";
import { classify, nextRetryDelayMs, nextStep, parseRetryAfter, type RetryPolicy } from "./policy.js";

describe("classify", () => {
  it.each([
    [200, "success"],
    [204, "success"],
    [299, "success"],
    [301, "failed"],
    [400, "failed"],
    [404, "failed"],
    [410, "gone"],
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
  const policy: RetryPolicy = { retries: 5, scheduleSeconds: [2, 10, 60, 300, 1800], jitter: 0.2, maxRetryAfterSeconds: 3600 };
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

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  });
  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter("-5", now)).toBeNull();
  });
});

describe("nextStep", () => {
  const policy: RetryPolicy = { retries: 2, scheduleSeconds: [2, 10], jitter: 0, maxRetryAfterSeconds: 60 };
  const at = 1_000_000;
  const step = (attempt: number, result: Parameters<typeof nextStep>[2]) => nextStep(policy, attempt, result, null, at, () => 0.5);

  it("retries on schedule, honouring Retry-After within bounds", () => {
    expect(step(1, { kind: "response", status: 500 })).toEqual({ action: "retry", delayMs: 2000 });
    expect(step(1, { kind: "response", status: 429, retryAfter: "30" })).toEqual({ action: "retry", delayMs: 30_000 });
    expect(step(1, { kind: "response", status: 503, retryAfter: "86400" })).toEqual({ action: "retry", delayMs: 60_000 });
    expect(step(2, { kind: "timeout" })).toEqual({ action: "retry", delayMs: 10_000 });
  });

  it("dead-letters when retries are spent or the answer is final", () => {
    expect(step(3, { kind: "response", status: 500 })).toEqual({ action: "dead-letter", reason: "HTTP 500 after 3 attempts" });
    expect(step(1, { kind: "response", status: 404 })).toEqual({ action: "dead-letter", reason: "the receiver answered HTTP 404, which is not retried" });
  });

  it("disables the hook on 410 Gone", () => {
    expect(step(1, { kind: "response", status: 410 })).toEqual({ action: "disable", reason: "the receiver answered 410 Gone" });
  });

  it("never retries a destination the SSRF guard refused", () => {
    expect(step(1, { kind: "refused", reason: "10.0.0.1 is a private address" })).toEqual({ action: "dead-letter", reason: "not sent: 10.0.0.1 is a private address" });
  });

  it("finishes on success", () => {
    expect(step(1, { kind: "response", status: 204 })).toEqual({ action: "done" });
  });
});
