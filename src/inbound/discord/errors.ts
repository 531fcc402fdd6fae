import { InboundError } from "../errors.js";

/**
 * An answer in Discord's error shape (`{message, code}`, and `errors` for a form body), so tools
 * written for Discord webhooks read the reason as they would from Discord.
 */
export class DiscordError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly retryAfterSeconds?: number,
  ) {
    super(String(body.message));
    this.name = "DiscordError";
  }
}

/** One problem with a field of the body, at its path (`["embeds", 0, "title"]`), as Discord words them. */
export interface FormIssue {
  path: ReadonlyArray<string | number>;
  code: string;
  message: string;
}

export const missingPermissions = () => new DiscordError(403, { message: "Missing Permissions", code: 50013 });
export const unknownMessage = () => new DiscordError(404, { message: "Unknown Message", code: 10008 });
export const emptyMessage = () => new DiscordError(400, { message: "Cannot send an empty message", code: 50006 });
export const invalidJson = (detail: string) => new DiscordError(400, { message: `The request body contains invalid JSON. (${detail.slice(0, 200)})`, code: 50109 });

/** Discord's 50035: `errors` nests the issues by their path, each leaf holding `_errors`. */
export function invalidFormBody(issues: readonly FormIssue[]): DiscordError {
  const errors: Record<string, unknown> = {};
  for (const issue of issues) {
    // The path's parts are the bridge's own field names and indexes, never a sender's key.
    let node = errors;
    for (const part of issue.path) {
      const key = String(part);
      node = (node[key] ??= {}) as Record<string, unknown>;
    }
    ((node._errors ??= []) as unknown[]).push({ code: issue.code, message: issue.message });
  }
  return new DiscordError(400, { message: "Invalid Form Body", code: 50035, errors });
}

// Discord's codes for what the bridge's own answers mean (0 "general error" where Discord has none).
const CODES = new Map<string, { code: number; message?: string }>([
  // Inside the Discord routes only a message lookup can miss (an unknown hook is answered `{}` before).
  ["not_found", { code: 10008, message: "Unknown Message" }],
  ["bad_request", { code: 50035 }],
  ["too_large", { code: 40005, message: "Request entity too large" }],
  ["forbidden", { code: 50013 }],
  ["rate_limited", { code: 0, message: "You are being rate limited." }],
]);

/** The bridge's own error (body too large, homeserver down, …) in Discord's shape, keeping its status and reason. */
export function fromInboundError(err: InboundError): DiscordError {
  const known = CODES.get(err.kind);
  const body: Record<string, unknown> = { message: known?.message ?? err.reason, code: known?.code ?? 0 };
  if (known?.message && known.message !== err.reason) body.detail = err.reason;
  if (err.retryAfterSeconds !== undefined) Object.assign(body, { retry_after: err.retryAfterSeconds, global: false });
  return new DiscordError(err.status, body, err.retryAfterSeconds);
}
