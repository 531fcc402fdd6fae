import { INBOUND_MSGTYPES, type InboundMsgtype } from "../connections/inbound-hook-state.js";
import { TransformFailure } from "./sandbox.js";

/** Hookshot's `webhookResponse`: what the sender is answered once the function's message is handled. */
export interface WebhookResponse {
  body: string;
  /** null: text/plain (never HTML on the bridge's own origin unless the function says so). */
  contentType: string | null;
  statusCode: number;
}

/** What an inbound hook's function asks for: a message, or nothing posted (`empty`); either may say how to answer the sender. */
export type InboundTransform = (
  | {
      kind: "message";
      /** Markdown unless `html` is given (Hookshot: plain "will be interpreted as markdown"). */
      plain: string;
      html?: string;
      msgtype?: InboundMsgtype;
      /** m.mentions, as Hookshot sanitizes it. */
      mentions?: { room?: boolean; user_ids?: string[] };
      /** Ours, beyond Hookshot's contract: a per-message identity, applied under the identity-override rules. */
      username?: string;
      avatarUrl?: string;
    }
  | { kind: "empty" }
) & { response?: WebhookResponse };

const fail = (message: string) => new TransformFailure("result", message);

/**
 * Hookshot's result contract (docs/setup/webhooks.md "Script API", src/generic/WebhookTransformer.ts):
 * - v1: `result` is a string → "Received webhook: <result>"; a falsy or non-object result → "No content".
 * - v2: an object with `version: "v2"`: `empty: true` posts nothing; else `plain` (string) is
 *   required, `html`, `msgtype` and `mentions` are optional; `webhookResponse` ({body, contentType?,
 *   statusCode?}) is how the sender is answered once the message is posted (or skipped).
 * Anything else is a result error, with Hookshot's wording.
 */
export function inboundTransformOf(result: unknown): InboundTransform {
  if (typeof result === "string") return { kind: "message", plain: `Received webhook: ${result}` };
  if (typeof result !== "object" || result === null || Array.isArray(result)) return { kind: "message", plain: "No content" };
  const r = result as Record<string, unknown>;
  if (r.version !== "v2") throw fail("Result returned from transformation didn't specify version = v2");
  const response = webhookResponseOf(r.webhookResponse);
  const answer = response ? { response } : {};
  if (r.empty === true) return { kind: "empty", ...answer };
  if (typeof r.plain !== "string") throw fail("Result returned from transformation didn't provide a string value for plain");
  if (r.html !== undefined && typeof r.html !== "string") throw fail("Result returned from transformation didn't provide a string value for html");
  if (r.msgtype !== undefined && typeof r.msgtype !== "string") throw fail("Result returned from transformation didn't provide a string value for msgtype");
  if (typeof r.msgtype === "string" && !(INBOUND_MSGTYPES as readonly string[]).includes(r.msgtype)) {
    throw fail(`Result returned from transformation has msgtype "${r.msgtype.slice(0, 40)}"; this bridge posts ${INBOUND_MSGTYPES.join(", ")}`);
  }
  if (!r.plain.trim() && !(typeof r.html === "string" && r.html.trim())) throw fail("Result returned from transformation has an empty plain (use empty: true to post nothing)");
  const message: InboundTransform & { kind: "message" } = { kind: "message", plain: r.plain, ...answer };
  if (typeof r.html === "string") message.html = r.html;
  if (typeof r.msgtype === "string") message.msgtype = r.msgtype as InboundMsgtype;
  const mentions = mentionsOf(r.mentions);
  if (mentions) message.mentions = mentions;
  if (typeof r.username === "string" && r.username.trim()) message.username = r.username.trim();
  if (typeof r.avatar_url === "string" && r.avatar_url.trim()) message.avatarUrl = r.avatar_url.trim();
  return message;
}

function webhookResponseOf(value: unknown): WebhookResponse | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) throw fail("Result returned from transformation provided an invalid webhookResponse");
  const w = value as Record<string, unknown>;
  if (typeof w.body !== "string") throw fail("Result returned from transformation didn't provide a string value for webhookResponse.body");
  if (w.statusCode !== undefined && !Number.isInteger(w.statusCode)) throw fail("Result returned from transformation didn't provide a number value for webhookResponse.statusCode");
  if (w.contentType !== undefined && typeof w.contentType !== "string") throw fail("Result returned from transformation didn't provide a string value for webhookResponse.contentType");
  const statusCode = w.statusCode === undefined ? 200 : (w.statusCode as number);
  // 1xx and 3xx mean something else to HTTP clients; a function answers success or an error.
  if (!((statusCode >= 200 && statusCode <= 299) || (statusCode >= 400 && statusCode <= 599))) throw fail("Result returned from transformation has a webhookResponse.statusCode outside 200–299 and 400–599");
  const contentType = typeof w.contentType === "string" ? w.contentType : null;
  if (contentType !== null && !/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.-]+=("[^"\r\n]*"|[\w.-]+))*$/.test(contentType)) throw fail("Result returned from transformation has a webhookResponse.contentType that is not a media type");
  return { body: w.body as string, contentType, statusCode };
}

function mentionsOf(value: unknown): { room?: boolean; user_ids?: string[] } | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") throw fail("Result returned from transformation provided an invalid mentions");
  const m = value as Record<string, unknown>;
  if (m.room !== undefined && typeof m.room !== "boolean") throw fail("Result returned from transformation provided an invalid mentions.room");
  if (m.user_ids !== undefined && (!Array.isArray(m.user_ids) || !m.user_ids.every((id) => typeof id === "string"))) {
    throw fail("Result returned from transformation provided an invalid mentions.user_ids");
  }
  // Only the two known keys, as Hookshot keeps them.
  return { ...(m.room !== undefined ? { room: m.room as boolean } : {}), ...(m.user_ids !== undefined ? { user_ids: (m.user_ids as string[]).slice(0, 100) } : {}) };
}

/** What an outbound hook's function asks for: this JSON as the body, or no delivery (`empty`). */
export type OutboundTransform = { kind: "body"; json: string } | { kind: "empty" };

/**
 * Ours (Hookshot has none for outbound hooks), in the same style: `result` is the JSON body to send;
 * `{empty: true}` (alone, or with `version: "v2"`) skips the delivery. An unset result is an error,
 * never an empty request.
 */
export function outboundTransformOf(result: unknown): OutboundTransform {
  if (result === undefined) throw fail("the function did not set result (set it to the body to send, or to {empty: true} to send nothing)");
  if (typeof result === "object" && result !== null && !Array.isArray(result)) {
    const r = result as Record<string, unknown>;
    const keys = Object.keys(r).filter((k) => k !== "version");
    if (r.empty === true && keys.length === 1) return { kind: "empty" };
  }
  return { kind: "body", json: JSON.stringify(result) };
}
