import type { InboundMsgtype } from "../connections/inbound-hook-state.js";
import { badRequest } from "./errors.js";
import { escapeHtml, htmlToText, sanitizeMatrixHtml } from "./html.js";
import { matrixSafe } from "./matrix-safe.js";
import type { InboundMessage } from "./message.js";

/** Hookshot's key for the payload a message came from, so bots written for Hookshot read ours too. */
export const RAW_PAYLOAD_KEY = "uk.half-shot.hookshot.webhook_data";
/** MSC4144 per-message profile (unstable prefix, as clients implement it). */
export const PER_MESSAGE_PROFILE_KEY = "com.beeper.per_message_profile";
/** Room for the event envelope: Matrix refuses events over 65,536 bytes. */
export const MAX_CONTENT_BYTES = 60_000;

export interface ContentOptions {
  defaultMsgtype: InboundMsgtype;
  /**
   * The parsed payload, kept under RAW_PAYLOAD_KEY when its JSON fits in rawMaxBytes, in a form the
   * homeserver stores (see matrixSafe: numbers beyond safe integers as strings, lone surrogates as U+FFFD).
   */
  raw: unknown;
  rawMaxBytes: number;
  /** A per-message identity the config allows: shown with an MSC4144 profile and a fallback prefix. */
  profile?: { displayname: string; avatarUrl: string | null };
}

/**
 * The m.room.message content for an inbound message: sanitized HTML, the raw payload, and a size
 * that fits. Everything in it is what a homeserver can store (matrixSafe), so no payload makes the
 * homeserver refuse the event.
 */
export function buildContent(message: InboundMessage, opts: ContentOptions): Record<string, unknown> {
  let html = message.html === null ? null : sanitizeMatrixHtml(message.html);
  if (html === "") html = null;
  let body = message.text.trim().length > 0 ? message.text : html ? htmlToText(html) : "";
  if (body.trim().length === 0) throw badRequest("the message has no text to post");
  const content: Record<string, unknown> = { msgtype: message.msgtype ?? opts.defaultMsgtype };
  if (opts.profile) {
    const name = opts.profile.displayname;
    body = `${name}: ${body}`;
    if (html !== null) html = `<strong data-mx-profile-fallback>${escapeHtml(name)}: </strong>${html}`;
    content[PER_MESSAGE_PROFILE_KEY] = {
      id: `webhook:${name}`,
      displayname: name,
      ...(opts.profile.avatarUrl ? { avatar_url: opts.profile.avatarUrl } : {}),
      has_fallback: true,
    };
  }
  content.body = body;
  if (html !== null) Object.assign(content, { format: "org.matrix.custom.html", formatted_body: html });
  const safe = matrixSafe(content) as Record<string, unknown>;
  const raw = safeRaw(opts.raw, opts.rawMaxBytes);
  if (raw !== undefined) safe[RAW_PAYLOAD_KEY] = raw;
  return fit(safe);
}

/** The raw payload as the homeserver stores it, when that fits in maxBytes (else undefined). */
function safeRaw(value: unknown, maxBytes: number): unknown {
  const asSent = rawJson(value);
  // Making it safe at most halves its size (a 6-byte \ud800 escape becomes 3 bytes): past twice the cap it cannot fit.
  if (asSent === null || Buffer.byteLength(asSent) > 2 * maxBytes) return undefined;
  const safe = matrixSafe(value);
  const text = rawJson(safe);
  return text !== null && Buffer.byteLength(text) <= maxBytes ? safe : undefined;
}

function rawJson(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

const size = (content: Record<string, unknown>) => Buffer.byteLength(JSON.stringify(content));

/** Drops the raw payload, then the HTML, then shortens the text until the event fits. */
function fit(content: Record<string, unknown>): Record<string, unknown> {
  if (size(content) <= MAX_CONTENT_BYTES) return content;
  delete content[RAW_PAYLOAD_KEY];
  if (size(content) <= MAX_CONTENT_BYTES) return content;
  delete content.format;
  delete content.formatted_body;
  const body = String(content.body);
  // JSON escaping can grow a character to 6 bytes; shrink until it fits (a few rounds at most).
  let keep = Math.floor(body.length * (MAX_CONTENT_BYTES / size(content))) - 100;
  for (let round = 0; round < 20; round++) {
    content.body = `${[...body.slice(0, Math.max(0, keep))].join("").replace(/[\uD800-\uDBFF]$/, "")}\n… (truncated)`;
    if (size(content) <= MAX_CONTENT_BYTES) break;
    keep = Math.floor(keep * 0.8);
  }
  return content;
}
