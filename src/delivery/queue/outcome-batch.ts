import type { OutcomeWrite } from "./queue-writer.js";

/**
 * A batch of attempt outcomes in columns, as it crosses to the queue writer thread. Copying a
 * thousand objects of a dozen fields between threads cost about 1 µs per outcome (mostly on the
 * writer's side); numbers in one typed array and strings in flat arrays cost a fifth of that.
 * queue-writer-thread.ts reads it (that file is self-contained, so it restates the layout).
 */
export interface OutcomeBatch {
  /** Per outcome, NUMBERS_PER_OUTCOME numbers: key, attempt, status, durationMs, at, dueAt (NaN = none). */
  numbers: Float64Array;
  /** Per outcome: OUTCOMES index | (reschedule ? 4 : 0) | (STATES index << 3). */
  codes: Uint8Array;
  /** The distinct hook ids of the batch, and per outcome the index of its hook. */
  hooks: string[];
  hookOf: Uint32Array;
  eventIds: string[];
  errors: Array<string | null>;
  responseBodies: Array<string | null>;
  reasons: Array<string | null>;
}

export const NUMBERS_PER_OUTCOME = 6;
export const OUTCOMES = ["success", "retry", "failed", "dropped"] as const;
export const STATES = ["done", "dead", "dropped"] as const;

export function encodeOutcomes(outcomes: readonly OutcomeWrite[]): OutcomeBatch {
  const n = outcomes.length;
  const batch: OutcomeBatch = {
    numbers: new Float64Array(n * NUMBERS_PER_OUTCOME),
    codes: new Uint8Array(n),
    hooks: [],
    hookOf: new Uint32Array(n),
    eventIds: new Array<string>(n),
    errors: new Array<string | null>(n),
    responseBodies: new Array<string | null>(n),
    reasons: new Array<string | null>(n),
  };
  const hookIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const o = outcomes[i]!;
    const at = i * NUMBERS_PER_OUTCOME;
    batch.numbers[at] = o.key;
    batch.numbers[at + 1] = o.attempt;
    batch.numbers[at + 2] = o.status ?? NaN;
    batch.numbers[at + 3] = o.durationMs;
    batch.numbers[at + 4] = o.at;
    batch.numbers[at + 5] = o.dueAt ?? NaN;
    const state = o.state === undefined ? 0 : STATES.indexOf(o.state);
    batch.codes[i] = OUTCOMES.indexOf(o.outcome) | (o.change === "reschedule" ? 4 : 0) | (state << 3);
    let hook = hookIndex.get(o.hookId);
    if (hook === undefined) {
      hook = batch.hooks.push(o.hookId) - 1;
      hookIndex.set(o.hookId, hook);
    }
    batch.hookOf[i] = hook;
    batch.eventIds[i] = o.eventId;
    batch.errors[i] = o.error;
    batch.responseBodies[i] = o.responseBody;
    batch.reasons[i] = o.reason ?? null;
  }
  return batch;
}
