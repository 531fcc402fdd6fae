import { InboundError } from "./errors.js";
import { wellFormed } from "./matrix-safe.js";

/** What a failed homeserver request looks like (the bot SDK's MatrixError, or a bare HTTP response). */
interface HomeserverFailure {
  statusCode?: unknown;
  errcode?: unknown;
  error?: unknown;
  retryAfterMs?: unknown;
  body?: unknown;
}

/** Error codes that mean the homeserver refuses this content: no retry can fix it. */
const CONTENT_REFUSALS = new Set(["M_BAD_JSON", "M_NOT_JSON", "M_INVALID_PARAM", "M_TOO_LARGE", "M_BAD_STATE", "M_INVALID_ROOM_STATE"]);

/**
 * The answer to a sender when the homeserver did not take its message. 502/503 only say "the
 * homeserver is unreachable or failing for now" (retrying later may work); a refusal of the
 * message itself is the sender's to fix: 400 with the homeserver's reason, 413 when too large,
 * 403 when the room does not let the hook's user post.
 */
export function homeserverAnswer(err: unknown): InboundError {
  const e = (typeof err === "object" && err !== null ? err : {}) as HomeserverFailure;
  const status = typeof e.statusCode === "number" ? e.statusCode : null;
  const body = (typeof e.body === "object" && e.body !== null ? e.body : {}) as HomeserverFailure;
  const errcode = typeof e.errcode === "string" ? e.errcode : typeof body.errcode === "string" ? body.errcode : null;
  const said = typeof e.error === "string" ? e.error : typeof body.error === "string" ? body.error : null;
  const reason = wellFormed(`${errcode ?? `HTTP ${status}`}${said ? `: ${said}` : ""}`.slice(0, 300));
  if (status === null) return new InboundError("homeserver", "the homeserver could not be reached; try again later");
  if (errcode === "M_TOO_LARGE" || status === 413) return new InboundError("too_large", `the homeserver refused the message as too large (${reason})`);
  if (status === 400 || (status < 500 && errcode !== null && CONTENT_REFUSALS.has(errcode))) {
    return new InboundError("bad_request", `the homeserver refused the message (${reason})`);
  }
  if (status === 403) return new InboundError("forbidden", `the room does not let this hook post (${reason}); a room admin must allow it`);
  if (status === 429) {
    const ms = typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs) ? e.retryAfterMs : 1000;
    return new InboundError("homeserver_busy", "the homeserver is rate-limiting the bridge; try again later", Math.max(1, Math.ceil(ms / 1000)));
  }
  return new InboundError("homeserver", `the homeserver did not take the message (${reason}); try again later`);
}
