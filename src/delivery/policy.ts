/**
 * What to do after an attempt, as pure functions: classification of the answer and the delay
 * before the next try.
 */
export type AttemptResult =
  | { kind: "response"; status: number }
  | { kind: "timeout" }
  | { kind: "network"; error: string };

export type Verdict = "success" | "retry" | "failed";

export function classify(result: AttemptResult): Verdict {
  if (result.kind !== "response") return "retry";
  const { status } = result;
  if (status >= 200 && status < 300) return "success";
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
}

/**
 * Delay in ms before retry `retryNumber` (1 = the first retry), or null when retries are spent.
 * `random` returns [0, 1); injected so tests are exact.
 */
export function nextRetryDelayMs(policy: RetryPolicy, retryNumber: number, random: () => number = Math.random): number | null {
  if (retryNumber < 1 || retryNumber > policy.retries || policy.scheduleSeconds.length === 0) return null;
  const index = Math.min(retryNumber, policy.scheduleSeconds.length) - 1;
  const base = policy.scheduleSeconds[index]! * 1000;
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}
