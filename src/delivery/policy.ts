/**
 * What to do after an attempt, as pure functions: classification of the answer, the delay before
 * the next try (schedule with jitter, or the receiver's Retry-After within bounds).
 */
export type AttemptResult =
  | { kind: "response"; status: number; retryAfter?: string }
  | { kind: "timeout" }
  | { kind: "network"; error: string }
  /** Not sent at all: the destination is a forbidden address (SSRF guard). */
  | { kind: "refused"; reason: string }
  /** Answered, but the hook's format cannot use the answer (a callback's answer that is not its protocol). */
  | { kind: "unusable"; status: number; reason: string };

export type Verdict = "success" | "retry" | "failed" | "gone";

export function classify(result: AttemptResult): Verdict {
  if (result.kind === "refused") return "failed";
  if (result.kind !== "response") return "retry"; // a receiver that answers garbage may be mid-deploy
  const { status } = result;
  if (status >= 200 && status < 300) return "success";
  if (status === 410) return "gone";
  if (status === 429 || status >= 500) return "retry";
  // 3xx (we follow no redirects) and other 4xx will not get better by retrying.
  return "failed";
}

export interface RetryPolicy {
  /** How many retries after the first attempt. */
  retries: number;
  /** Seconds before retry n (1-based); the last entry repeats. */
  scheduleSeconds: readonly number[];
  /** ± fraction of each delay, 0..1. */
  jitter: number;
  /** Upper bound for a receiver's Retry-After, in seconds. */
  maxRetryAfterSeconds: number;
}

/**
 * Delay in ms before retry `retryNumber` (1 = the first retry), or null when retries are spent.
 * `random` returns [0, 1); injected so tests are exact.
 */
export function nextRetryDelayMs(policy: Pick<RetryPolicy, "retries" | "scheduleSeconds" | "jitter">, retryNumber: number, random: () => number = Math.random): number | null {
  if (retryNumber < 1 || retryNumber > policy.retries || policy.scheduleSeconds.length === 0) return null;
  const index = Math.min(retryNumber, policy.scheduleSeconds.length) - 1;
  const base = policy.scheduleSeconds[index]! * 1000;
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

/** Retry-After as ms from `now`: delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date has a weekday and month name; this keeps Date.parse from reading "-5" as a year.
  if (!/^[A-Za-z]{3},/.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export type NextStep =
  | { action: "done" }
  | { action: "retry"; delayMs: number }
  | { action: "dead-letter"; reason: string }
  | { action: "disable"; reason: string };

/** The whole decision after attempt number `attempt` (1-based) produced `result`. */
export function nextStep(policy: RetryPolicy, attempt: number, result: AttemptResult, error: string | null, now: number, random: () => number = Math.random): NextStep {
  const verdict = classify(result);
  if (result.kind === "refused") return { action: "dead-letter", reason: `not sent: ${result.reason}` };
  const what = result.kind === "response" ? `HTTP ${result.status}` : result.kind === "unusable" ? `an unusable answer (${result.reason})` : (error ?? "no answer");
  switch (verdict) {
    case "success":
      return { action: "done" };
    case "gone":
      return { action: "disable", reason: "the receiver answered 410 Gone" };
    case "failed":
      return { action: "dead-letter", reason: `the receiver answered ${what}, which is not retried` };
    case "retry": {
      const scheduled = nextRetryDelayMs(policy, attempt, random);
      if (scheduled === null) return { action: "dead-letter", reason: `${what} after ${attempt} attempt${attempt === 1 ? "" : "s"}` };
      const asked = result.kind === "response" ? parseRetryAfter(result.retryAfter, now) : null;
      const delayMs = asked === null ? scheduled : Math.min(asked, policy.maxRetryAfterSeconds * 1000);
      return { action: "retry", delayMs };
    }
  }
}
