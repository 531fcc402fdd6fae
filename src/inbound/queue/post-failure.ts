import type { InboundError } from "../errors.js";
import { homeserverAnswer } from "../homeserver-answer.js";

/**
 * What to do with a post the homeserver did not take: try again later (unreachable, 5xx, 429 —
 * with its Retry-After), or never (it refuses the content, or the room refuses the hook's user).
 */
export type PostFailure = { kind: "later"; retryAfterMs: number | null; answer: InboundError } | { kind: "refused"; answer: InboundError };

export function postFailure(err: unknown): PostFailure {
  const answer = homeserverAnswer(err);
  if (answer.kind === "homeserver" || answer.kind === "homeserver_busy") {
    return { kind: "later", retryAfterMs: answer.retryAfterSeconds !== undefined ? answer.retryAfterSeconds * 1000 : null, answer };
  }
  return { kind: "refused", answer };
}
