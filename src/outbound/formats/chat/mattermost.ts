import type { RoomEvent } from "../../../matrix/port.js";
import { markdownToHtml } from "../../../inbound/html.js";
import type { Rich } from "../../../inbound/message.js";
import type { ChatContext, ChatFormat, ChatRequest, ReplyLimits, ReplyParse } from "./chat-format.js";
import { chatFields } from "./chat-fields.js";
import { assembleReply, field, replyObject, responseNotRequired, safely, stringField, wrongTypes } from "./chat-reply.js";
import { renderAttachments } from "./slack-attachments.js";
import { slackLinksToMarkdown } from "./slack-links.js";

/**
 * Mattermost's outgoing webhooks (model/outgoing_webhook.go OutgoingWebhookPayload): its twelve
 * fields plus Slack's `thread_ts` and `service_id` (Mattermost sends "Slack-compatible" bodies;
 * keeping them lets a Slack integration read the same form). As a form (`timestamp` in seconds,
 * keys sorted as Go's url.Values encodes them) or, with `content_type: json`, as JSON
 * (`timestamp` in milliseconds, the post's create_at, as Mattermost's server sends it).
 * The answer's `text` is Mattermost markdown, with Slack's `<url|label>` links translated first.
 * Mattermost's outgoing webhooks do not fire in direct messages; a webhook bot of this format
 * answers them (nothing in the payload depends on it, and the room is named as in any room).
 */
export const mattermostFormat: ChatFormat = {
  name: "mattermost",
  allowsDirectMessages: true,
  request: mattermostRequest,
  reply: (body, contentType, limits) => safely(() => mattermostReply(body, contentType, limits)),
};

export function mattermostRequest(event: RoomEvent, ctx: ChatContext): ChatRequest {
  const f = chatFields(event, ctx);
  const headers = { accept: "application/json", "user-agent": ctx.userAgent };
  const common = {
    token: f.token,
    team_id: f.team_id,
    team_domain: f.team_domain,
    channel_id: f.channel_id,
    channel_name: f.channel_name,
  };
  const rest = {
    user_id: f.user_id,
    user_name: f.user_name,
    post_id: f.post_id,
    text: f.text,
    trigger_word: f.trigger_word,
    file_ids: f.file_ids,
    thread_ts: f.thread_ts,
    service_id: f.service_id,
  };
  if (ctx.contentType === "json") {
    return { body: JSON.stringify({ ...common, timestamp: f.timestampMs, ...rest }), contentType: "application/json", headers };
  }
  const form = Object.entries({ ...common, timestamp: String(Math.floor(f.timestampMs / 1000)), ...rest }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { body: new URLSearchParams(form).toString(), contentType: "application/x-www-form-urlencoded", headers };
}

/** The fields a Mattermost answer may carry, with their types (model.OutgoingWebhookResponse). */
export const MATTERMOST_REPLY_FIELDS = [
  ["text", "string"],
  ["attachments", "array"],
  ["username", "string"],
  ["icon_url", "string"],
  ["response_type", "string"],
] as const;

/** Mattermost markdown (GFM: headings, tables, code blocks) to Matrix HTML; the markdown is the plain body. */
export const mattermostMarkdown = (source: string): Rich => {
  const markdown = slackLinksToMarkdown(source);
  return { text: markdown, html: markdownToHtml(markdown) };
};

function mattermostReply(body: string, contentType: string | null, limits: ReplyLimits): ReplyParse {
  const read = replyObject(body, contentType);
  if (read.kind !== "object") return read;
  const o = read.value;
  const wrong = wrongTypes(o, MATTERMOST_REPLY_FIELDS);
  if (wrong) return { kind: "malformed", reason: wrong };
  if (responseNotRequired(o)) return { kind: "none" };
  const attachments = field(o, "attachments");
  return assembleReply(
    {
      text: stringField(o, "text") ?? "",
      convert: mattermostMarkdown,
      trailer: Array.isArray(attachments) ? renderAttachments(attachments) : null,
      // response_type "comment": the answer starts (or joins) the triggering post's thread.
      startThread: stringField(o, "response_type") === "comment",
      username: stringField(o, "username"),
      iconUrl: stringField(o, "icon_url"),
    },
    limits,
  );
}
