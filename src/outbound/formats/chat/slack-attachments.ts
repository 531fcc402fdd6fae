import { slackMessage } from "../../../inbound/slack.js";
import type { Rich } from "../../../inbound/message.js";

/**
 * Slack `attachments` rendered as on the inbound `/slack` route (author, title, text, fields,
 * footer, quoted), or null when none has anything to show. Shared by the Slack and Mattermost
 * replies (Mattermost takes Slack's attachments as they are).
 */
export function renderAttachments(attachments: unknown[]): Rich | null {
  if (attachments.length === 0) return null;
  try {
    const m = slackMessage({ attachments });
    return m.html === null ? null : { text: m.text, html: m.html };
  } catch {
    // slackMessage refuses a payload with nothing to show: no trailer then.
    return null;
  }
}
