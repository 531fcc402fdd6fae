import { INBOUND_MSGTYPES, type InboundMsgtype } from "../connections/inbound-hook-state.js";
import { badRequest } from "./errors.js";
import { escapeHtml, markdownToHtml } from "./html.js";
import type { InboundMessage } from "./message.js";
import type { InboundPayload } from "./payload.js";
import { slackMessage } from "./slack.js";

const MAX_DUMP_CHARS = 8_000;

/**
 * The generic route: `text` (markdown; `content` as Discord and Revolt call it), `html`,
 * `msgtype`, `username`/`avatar_url` (or Revolt's `masquerade`). A body with only Slack
 * `blocks`/`attachments` is read as Slack; any other JSON is shown as a code block, as Hookshot does.
 * A `payload=` form is what Slack clients send: with Slack's fields it is read as `/slack` reads it
 * (`<url|label>` links, mrkdwn), not as markdown.
 */
export function genericMessage(payload: InboundPayload): InboundMessage {
  if (payload.kind === "text") return textMessage(payload.value);
  if (payload.kind === "html") return htmlMessage(payload.value, undefined);
  const value = payload.value;
  if (payload.slackForm && isSlackShaped(value)) return slackMessage(value);
  if (typeof value === "string") return textMessage(value);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return dump(value);
  const o = value as Record<string, unknown>;
  const text = field(o, "text") ?? field(o, "content");
  const html = field(o, "html");
  const msgtype = msgtypeOf(o.msgtype);
  const masquerade = typeof o.masquerade === "object" && o.masquerade !== null ? (o.masquerade as Record<string, unknown>) : {};
  const identity = {
    ...optional("username", field(o, "username") ?? field(masquerade, "name")),
    ...optional("avatarUrl", field(o, "avatar_url") ?? field(masquerade, "avatar")),
  };
  let message: InboundMessage;
  if (html !== undefined) message = htmlMessage(html, text);
  else if (text !== undefined) message = textMessage(text);
  else if (Array.isArray(o.blocks) || Array.isArray(o.attachments)) message = slackMessage(o);
  else message = dump(value);
  return { ...message, ...identity, ...(msgtype ? { msgtype } : {}) };
}

/** Slack's message fields, and none of the generic route's own (html, msgtype, content). */
function isSlackShaped(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  if (Object.hasOwn(o, "html") || Object.hasOwn(o, "msgtype") || Object.hasOwn(o, "content")) return false;
  return typeof o.text === "string" || Array.isArray(o.blocks) || Array.isArray(o.attachments);
}

function textMessage(text: string): InboundMessage {
  if (text.trim().length === 0) throw badRequest('"text" is empty');
  return { text, html: markdownToHtml(text) };
}

function htmlMessage(html: string, text: string | undefined): InboundMessage {
  if (html.trim().length === 0 && !text?.trim()) throw badRequest('"html" is empty');
  // Without text, the body is derived from the sanitized HTML (buildContent).
  return { text: text?.trim() ? text : "", html };
}

function dump(value: unknown): InboundMessage {
  let json = JSON.stringify(value, null, 2) ?? String(value);
  if (json.length > MAX_DUMP_CHARS) json = `${json.slice(0, MAX_DUMP_CHARS)}\n…`;
  return {
    text: `Received webhook data:\n\`\`\`json\n${json}\n\`\`\``,
    html: `<p>Received webhook data:</p><pre><code class="language-json">${escapeHtml(json)}</code></pre>`,
  };
}

/** A string field; a present field of another type is the sender's mistake, said plainly. */
function field(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw badRequest(`"${key}" must be a string`);
  return v;
}

function msgtypeOf(value: unknown): InboundMsgtype | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && (INBOUND_MSGTYPES as readonly string[]).includes(value)) return value as InboundMsgtype;
  throw badRequest(`"msgtype" must be one of ${INBOUND_MSGTYPES.join(", ")}`);
}

const optional = <K extends string>(key: K, value: string | undefined) => (value?.trim() ? ({ [key]: value.trim() } as Record<K, string>) : {});
