import { escapeHtml, markdownToHtml } from "../../../inbound/html.js";
import { matrixSafe } from "../../../inbound/matrix-safe.js";
import type { Rich } from "../../../inbound/message.js";
import type { RoomEvent } from "../../../matrix/port.js";
import { withoutKeyMaterial } from "../../media/encrypted-file.js";
import type { ChatContext, ChatFormat, ChatRequest, ReplyLimits, ReplyParse } from "./chat-format.js";
import { bodyOf, channelName, eventMillis, senderName, stableIntId } from "./chat-fields.js";
import { assembleReply, replyObject, responseNotRequired, safely, stringField, wrongTypes } from "./chat-reply.js";

/**
 * Zulip's outgoing webhook bots (the "generic" interface, zerver/lib/outgoing_webhook.py): JSON
 * `{bot_email, bot_full_name, data, message, token, trigger}` with `message` in Zulip's message
 * format, filled from the Matrix event, and the whole Matrix event beside Zulip's fields as
 * `message.matrix_event`. The answer is `{content}` (Zulip markdown), or the deprecated
 * `{response_string}`; `{response_not_required: true}` posts nothing. Answers go where the
 * message was (its thread, when it had one), as Zulip answers in the message's topic.
 */
export const zulipFormat: ChatFormat = {
  name: "zulip",
  allowsDirectMessages: true,
  request: zulipRequest,
  reply: (body, contentType, limits) => safely(() => zulipReply(body, contentType, limits)),
};

/**
 * The Zulip version whose payload we follow, in Zulip's User-Agent shape: 8.0 renamed the
 * trigger "private_message" to "direct_message", which is what we send.
 */
export const ZULIP_COMPAT_VERSION = "8.0";

/** How deep the copied Matrix event may nest (deeper values become null; JSON.stringify would overflow the stack). */
const MAX_EVENT_DEPTH = 64;

export function zulipRequest(event: RoomEvent, ctx: ChatContext): ChatRequest {
  const me = event.type === "m.room.message" && event.content.msgtype === "m.emote";
  const body = bodyOf(event);
  // Zulip's own /me messages are written "/me waves" and flagged is_me_message.
  const content = me ? `/me ${body}` : body;
  const direct = ctx.room.direct;
  const bot = ctx.bot ?? { userId: `${ctx.hook.name}@${ctx.serverName}`, displayName: ctx.hook.name };
  const sender = { id: stableIntId(event.sender), email: event.sender, full_name: senderName(ctx.sender), is_mirror_dummy: false };
  const recipients = [sender, ...(ctx.bot ? [{ id: stableIntId(ctx.bot.userId), email: ctx.bot.userId, full_name: ctx.bot.displayName, is_mirror_dummy: false }] : [])];
  const message = {
    avatar_url: null,
    client: "Matrix",
    content,
    display_recipient: direct ? recipients.sort((a, b) => a.id - b.id) : channelName(ctx.room),
    id: stableIntId(event.event_id),
    is_me_message: me,
    reactions: [],
    recipient_id: stableIntId(ctx.room.id),
    rendered_content: renderedContent(event, me),
    sender_email: event.sender,
    sender_full_name: senderName(ctx.sender),
    sender_id: sender.id,
    sender_realm_str: ctx.serverName,
    ...(direct ? {} : { stream_id: stableIntId(ctx.room.id) }),
    subject: ctx.thread?.rootEventId ?? "",
    submessages: [],
    timestamp: Math.floor(eventMillis(event.origin_server_ts) / 1000),
    topic_links: [],
    type: direct ? "private" : "stream",
    matrix_event: matrixSafe({ ...event, content: withoutKeyMaterial(event.content) }, MAX_DEPTH_START),
  };
  const payload = {
    bot_email: bot.userId,
    bot_full_name: bot.displayName,
    data: content,
    message,
    token: ctx.hook.token,
    trigger: zulipTrigger(ctx),
  };
  return {
    body: JSON.stringify(payload),
    contentType: "application/json",
    headers: { "user-agent": `ZulipOutgoingWebhook/${ZULIP_COMPAT_VERSION} ${ctx.userAgent}` },
  };
}

// matrixSafe stops at depth 200; starting it deeper leaves MAX_EVENT_DEPTH levels.
const MAX_DEPTH_START = 200 - MAX_EVENT_DEPTH;

/**
 * Zulip's two triggers. A plain hook (every event, or a trigger word) has neither: it gets
 * "direct_message" in a direct-message room and "mention" elsewhere, the two values Zulip bots know.
 */
export function zulipTrigger(ctx: ChatContext): "mention" | "direct_message" {
  switch (ctx.trigger.kind) {
    case "mention":
      return "mention";
    case "direct-message":
      return "direct_message";
    default:
      return ctx.room.direct ? "direct_message" : "mention";
  }
}

/** The sender's HTML (formatted_body) when there is one, else the body escaped, as Zulip's rendered paragraphs. */
function renderedContent(event: RoomEvent, me: boolean): string {
  const c = event.content;
  const prefix = me ? "/me " : "";
  if (c.format === "org.matrix.custom.html" && typeof c.formatted_body === "string") return `<p>${prefix}${c.formatted_body}</p>`;
  const body = bodyOf(event);
  return body === "" ? "" : `<p>${escapeHtml(prefix + body).replace(/\r?\n/g, "<br>")}</p>`;
}

export const ZULIP_REPLY_FIELDS = [
  ["content", "string"],
  ["response_string", "string"],
] as const;

/** Zulip markdown to Matrix HTML: GFM, with Zulip's mentions (`@**Name**`, `@_**Name**`, `#**stream>topic**`) as plain names. */
export function zulipMarkdown(source: string): Rich {
  const markdown = source.replace(/([@#])_?\*\*([^*\n]{1,200})\*\*/g, "$1$2");
  return { text: markdown, html: markdownToHtml(markdown) };
}

function zulipReply(body: string, contentType: string | null, limits: ReplyLimits): ReplyParse {
  const read = replyObject(body, contentType);
  if (read.kind !== "object") return read;
  const o = read.value;
  const wrong = wrongTypes(o, ZULIP_REPLY_FIELDS);
  if (wrong) return { kind: "malformed", reason: wrong };
  if (responseNotRequired(o)) return { kind: "none" };
  // As Zulip does: the deprecated response_string wins over content.
  const text = stringField(o, "response_string") ?? stringField(o, "content") ?? "";
  return assembleReply({ text, convert: zulipMarkdown, trailer: null, startThread: false }, limits);
}
