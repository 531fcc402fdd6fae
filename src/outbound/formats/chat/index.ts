import { CHAT_FORMAT_NAMES, type ChatFormat, type ChatFormatName } from "./chat-format.js";
import { mattermostFormat } from "./mattermost.js";
import { slackFormat } from "./slack.js";
import { zulipFormat } from "./zulip.js";

const FORMATS: ReadonlyMap<ChatFormatName, ChatFormat> = new Map<ChatFormatName, ChatFormat>([
  ["slack", slackFormat],
  ["mattermost", mattermostFormat],
  ["zulip", zulipFormat],
]);

/** The chat format of that name. */
export function chatFormat(name: ChatFormatName): ChatFormat {
  const format = FORMATS.get(name);
  if (!format) throw new Error(`unknown chat format ${JSON.stringify(name)}`);
  return format;
}

/** Whether a string from outside (a hook's `format` field) names a chat format. */
export const isChatFormatName = (name: unknown): name is ChatFormatName => typeof name === "string" && (CHAT_FORMAT_NAMES as readonly string[]).includes(name);
