import type { RoomEvent } from "../../../matrix/port.js";
import { multiline } from "../../../inbound/message.js";
import { mrkdwn } from "../../../inbound/slack-mrkdwn.js";
import type { ChatContext, ChatFormat, ChatRequest, ReplyLimits, ReplyParse } from "./chat-format.js";
import { chatFields } from "./chat-fields.js";
import { assembleReply, field, replyObject, responseNotRequired, safely, stringField, wrongTypes } from "./chat-reply.js";
import { renderAttachments } from "./slack-attachments.js";

/**
 * Slack's (legacy) outgoing webhooks: a form POST with Slack's twelve fields, in Slack's order;
 * the answer is a Slack message (`text` in mrkdwn, `attachments`, `username`, `icon_url`).
 * Zulip's Slack-compatible interface refuses direct messages, and so do bots of this format.
 */
export const slackFormat: ChatFormat = {
  name: "slack",
  allowsDirectMessages: false,
  request: slackRequest,
  reply: (body, contentType, limits) => safely(() => slackReply(body, contentType, limits)),
};

export function slackRequest(event: RoomEvent, ctx: ChatContext): ChatRequest {
  const f = chatFields(event, ctx);
  const form = new URLSearchParams([
    ["token", f.token],
    ["team_id", f.team_id],
    ["team_domain", f.team_domain],
    ["channel_id", f.channel_id],
    ["channel_name", f.channel_name],
    ["thread_ts", f.thread_ts],
    ["timestamp", f.timestamp],
    ["user_id", f.user_id],
    ["user_name", f.user_name],
    ["text", f.text],
    ["trigger_word", f.trigger_word],
    ["service_id", f.service_id],
  ]);
  return { body: form.toString(), contentType: "application/x-www-form-urlencoded", headers: { "user-agent": ctx.userAgent } };
}

/** The fields a Slack-style answer may carry, with their types. */
export const SLACK_REPLY_FIELDS = [
  ["text", "string"],
  ["attachments", "array"],
  ["username", "string"],
  ["icon_url", "string"],
  ["mrkdwn", "boolean"],
] as const;

function slackReply(body: string, contentType: string | null, limits: ReplyLimits): ReplyParse {
  const read = replyObject(body, contentType);
  if (read.kind !== "object") return read;
  const o = read.value;
  const wrong = wrongTypes(o, SLACK_REPLY_FIELDS);
  if (wrong) return { kind: "malformed", reason: wrong };
  if (responseNotRequired(o)) return { kind: "none" };
  const attachments = field(o, "attachments");
  return assembleReply(
    {
      text: stringField(o, "text") ?? "",
      // `"mrkdwn": false` asks Slack to show the text as it is.
      convert: field(o, "mrkdwn") === false ? multiline : mrkdwn,
      trailer: Array.isArray(attachments) ? renderAttachments(attachments) : null,
      startThread: false,
      username: stringField(o, "username"),
      iconUrl: stringField(o, "icon_url"),
    },
    limits,
  );
}
