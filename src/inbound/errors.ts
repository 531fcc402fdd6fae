/**
 * What an inbound request can fail with, and the HTTP status each kind is answered with. Only
 * these reach a caller; anything else is a bug, logged and answered as a bare 500.
 */
export const INBOUND_ERROR_STATUS = {
  /** Unknown route, unknown or removed hook id: answered with `{}` and nothing else. */
  not_found: 404,
  /** The body could not be read or parsed, holds nothing to post, or the homeserver refused its content. */
  bad_request: 400,
  /** A GitHub signature is missing or wrong. */
  bad_signature: 401,
  /** The room does not let the hook's user post (the homeserver's M_FORBIDDEN): a room admin must act. */
  forbidden: 403,
  /** A change through the hook's URL clashes with the room's hooks (a rename to a name taken). */
  conflict: 409,
  /** The body is over inbound.maxBodyBytes, or the homeserver found the event too large (M_TOO_LARGE). */
  too_large: 413,
  /** A content type or encoding the hook does not read. */
  unsupported: 415,
  /** The hook is over its rate limit; Retry-After says when to come back. */
  rate_limited: 429,
  /** The homeserver is unreachable or failing (5xx, no answer): retry later. */
  homeserver: 502,
  /** The homeserver is rate-limiting the bridge for now; Retry-After says when to come back. */
  homeserver_busy: 503,
  /** The bridge's store (PostgreSQL) cannot be read or written for now: retry later. */
  store_unavailable: 503,
} as const;

export type InboundErrorKind = keyof typeof INBOUND_ERROR_STATUS;

export class InboundError extends Error {
  constructor(
    readonly kind: InboundErrorKind,
    readonly reason: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(reason);
    this.name = "InboundError";
  }

  get status(): number {
    return INBOUND_ERROR_STATUS[this.kind];
  }

  /** The JSON body: not-found says nothing at all, the rest give a reason. */
  body(): Record<string, unknown> {
    if (this.kind === "not_found") return {};
    return { ok: false, error: this.reason, ...(this.retryAfterSeconds !== undefined ? { retry_after: this.retryAfterSeconds } : {}) };
  }
}

export const badRequest = (reason: string) => new InboundError("bad_request", reason);

/** What a sender hears when the store failed: nothing it did wrong, try again (the cause is logged, never sent). */
export const storeUnavailable = () => new InboundError("store_unavailable", "the bridge cannot reach its store right now; try again later");
