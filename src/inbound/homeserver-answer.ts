import { StoreUnavailableError } from "../store/store-unavailable.js";
import { InboundError } from "./errors.js";
import { wellFormed } from "./matrix-safe.js";

/** The hook's user could not be set up (profile, join): about the room, never about the message. */
export class GhostSetupFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`the hook's user could not be set up: ${(cause as Error | undefined)?.message ?? String(cause)}`);
    this.name = "GhostSetupFailed";
  }
}

/** Error codes that mean the homeserver refuses this content: no retry can fix it. */
const CONTENT_REFUSALS = new Set(["M_BAD_JSON", "M_NOT_JSON", "M_INVALID_PARAM", "M_TOO_LARGE"]);

/** Status, errcode and words of a failed homeserver request (the bot SDK's MatrixError, or a bare HTTP response). */
function failureOf(err: unknown): { status: number | null; errcode: string | null; reason: string; retryAfterMs: number | null } {
  const e = (typeof err === "object" && err !== null ? err : {}) as { statusCode?: unknown; errcode?: unknown; error?: unknown; retryAfterMs?: unknown; body?: unknown };
  const body = (typeof e.body === "object" && e.body !== null ? e.body : {}) as { errcode?: unknown; error?: unknown };
  const status = typeof e.statusCode === "number" ? e.statusCode : null;
  const errcode = typeof e.errcode === "string" ? e.errcode : typeof body.errcode === "string" ? body.errcode : null;
  const said = typeof e.error === "string" ? e.error : typeof body.error === "string" ? body.error : null;
  const reason = wellFormed(`${errcode ?? `HTTP ${status}`}${said ? `: ${said}` : ""}`.slice(0, 300));
  const retryAfterMs = typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs) ? e.retryAfterMs : null;
  return { status, errcode, reason, retryAfterMs };
}

/**
 * The answer to a sender when the homeserver did not take its message. 502/503 only say "the
 * homeserver is unreachable or failing for now" (retrying later may work). A refusal is not
 * retried away: of the message's content, 400 with the homeserver's reason (413 when too large);
 * of the hook's user — it may not post in the room, or while it is set up, not join — 403.
 */
export function homeserverAnswer(err: unknown): InboundError {
  // Not the homeserver's: the store's failure is answered (and logged) by the routes as such.
  if (err instanceof StoreUnavailableError) throw err;
  const setup = err instanceof GhostSetupFailed;
  const { status, errcode, reason, retryAfterMs } = failureOf(setup ? err.cause : err);
  if (status === null) return new InboundError("homeserver", "the homeserver could not be reached; try again later");
  if (status === 429) {
    return new InboundError("homeserver_busy", "the homeserver is rate-limiting the bridge; try again later", Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000)));
  }
  if (status >= 500 || status === 408) return new InboundError("homeserver", `the homeserver failed (${reason}); try again later`);
  if (setup) return new InboundError("forbidden", `the room does not let this hook's user in (${reason}); a room admin must allow it`);
  if (errcode === "M_TOO_LARGE" || status === 413) return new InboundError("too_large", `the homeserver refused the message as too large (${reason})`);
  if (status === 400 || (errcode !== null && CONTENT_REFUSALS.has(errcode))) return new InboundError("bad_request", `the homeserver refused the message (${reason})`);
  if (status === 403) return new InboundError("forbidden", `the room does not let this hook post (${reason}); a room admin must allow it`);
  // 401/404 and the like: the bridge's registration or the room, not the sender's message.
  return new InboundError("homeserver", `the homeserver did not take the message (${reason}); try again later`);
}
