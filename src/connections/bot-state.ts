import { CHAT_FORMAT_NAMES, type ChatFormatName } from "../outbound/formats/chat/chat-format.js";
import { NO_FILTER } from "../outbound/hook-filter.js";
import { validateOutboundHookContent, type OutboundHookSettings, type Validation } from "./outbound-hook-state.js";

/**
 * A webhook bot (Zulip's outgoing webhook bots) as room state: state_key = the bot's name,
 * content `{name, url | urls, format?}` with format zulip (the default), slack or mattermost.
 * Otherwise as an outbound hook's content (method, content_type, ordering); trigger words and
 * event filters do not apply: a bot fires when its ghost is mentioned, or on a DM with it.
 */
export const BOT_EVENT_TYPE = "dev.matrix-webhook-bridge.bot";
export const BOT_FORMATS = CHAT_FORMAT_NAMES;
export const DEFAULT_BOT_FORMAT: ChatFormatName = "zulip";

const HOOK_ONLY_FIELDS = ["trigger_words", "trigger_when", "event_types", "msgtypes"] as const;

export function validateBotContent(stateKey: string, content: unknown): Validation<OutboundHookSettings> {
  const c = typeof content === "object" && content !== null && !Array.isArray(content) ? (content as Record<string, unknown>) : null;
  const format = c?.format ?? DEFAULT_BOT_FORMAT;
  const problems: string[] = [];
  if (!(BOT_FORMATS as readonly unknown[]).includes(format)) problems.push(`format: a bot's format is one of ${BOT_FORMATS.join(", ")} (got ${JSON.stringify(format)})`);
  for (const field of HOOK_ONLY_FIELDS) if (c && c[field] !== undefined) problems.push(`${field}: bots fire on mentions and direct messages, not on filters`);
  const asHook = validateOutboundHookContent(stateKey, c ? { ...c, format: (BOT_FORMATS as readonly unknown[]).includes(format) ? format : DEFAULT_BOT_FORMAT } : content);
  if (!asHook.ok) problems.unshift(...asHook.problems);
  if (!asHook.ok || problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { ...asHook.value, filter: NO_FILTER } };
}
