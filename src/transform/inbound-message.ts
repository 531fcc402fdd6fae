import { markdownToHtml } from "../inbound/html.js";
import type { InboundMessage } from "../inbound/message.js";
import type { InboundTransform } from "./hookshot-result.js";

/**
 * A function's message as the inbound route posts it: `plain` is the body and, without `html`,
 * markdown for the HTML (as Hookshot renders it). Identity fields go through the receiver's
 * identity-override rules like a payload's.
 */
export function transformedMessage(t: InboundTransform & { kind: "message" }): InboundMessage {
  const message: InboundMessage = { text: t.plain, html: t.html ?? markdownToHtml(t.plain) };
  if (t.msgtype) message.msgtype = t.msgtype;
  if (t.username) message.username = t.username;
  if (t.avatarUrl) message.avatarUrl = t.avatarUrl;
  return message;
}
