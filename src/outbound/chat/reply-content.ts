import { buildContent } from "../../inbound/content.js";
import type { ChatReply } from "../formats/chat/chat-format.js";

export interface ReplyPlacement {
  /** The event the delivery was about. */
  triggerEventId: string;
  /** Its thread root when it is in a thread. */
  threadRoot: string | null;
}

export interface ReplyIdentity {
  /** The reply's own name, shown only when config allows overrides; marked as a webhook's. */
  username?: string;
  avatarMxc: string | null;
}

/** What marks a per-reply name as a webhook's, so that nobody mistakes it for a person. */
export const WEBHOOK_NAME_MARK = " (webhook)";

/**
 * The messages a reply posts, in order: each part's text and sanitized HTML, in the trigger's
 * thread when it is in one (or when the reply asks to start one, Mattermost's "comment"), with the
 * reply's own identity when allowed (an MSC4144 per-message profile plus a visible name prefix).
 */
export function replyContents(reply: ChatReply, placement: ReplyPlacement, identity: ReplyIdentity | null): Array<Record<string, unknown>> {
  const root = placement.threadRoot ?? (reply.startThread ? placement.triggerEventId : null);
  const profile = identity?.username ? { displayname: `${identity.username.slice(0, 100)}${WEBHOOK_NAME_MARK}`, avatarUrl: identity.avatarMxc } : undefined;
  const contents: Array<Record<string, unknown>> = [];
  for (const part of reply.parts) {
    if (part.text.trim().length === 0 && (part.html ?? "").trim().length === 0) continue;
    let content: Record<string, unknown>;
    try {
      content = buildContent({ text: part.text, html: part.html }, { defaultMsgtype: "m.text", raw: undefined, rawMaxBytes: 0, ...(profile ? { profile } : {}) });
    } catch {
      continue; // nothing left to show once sanitized
    }
    if (root) content["m.relates_to"] = { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: placement.triggerEventId } };
    contents.push(content);
  }
  return contents;
}
