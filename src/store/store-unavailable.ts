/**
 * A store that could not be read or written (PostgreSQL down, a connection lost, a statement timed
 * out): nothing the caller did wrong, so a request is answered "try again later". The driver's
 * error is the cause; `code` is its SQLSTATE, when it has one.
 */
export class StoreUnavailableError extends Error {
  readonly code: string | undefined;

  constructor(override readonly cause: unknown) {
    const e = cause as { message?: unknown; code?: unknown } | null;
    super(`the store could not be used: ${String(e?.message ?? cause)}`);
    this.name = "StoreUnavailableError";
    this.code = typeof e?.code === "string" ? e.code : undefined;
  }

  /** What a log may say: the message and code, never the driver's whole object (it may name the server's settings). */
  logged(): { message: string; code?: string } {
    return { message: this.message, ...(this.code !== undefined ? { code: this.code } : {}) };
  }
}
