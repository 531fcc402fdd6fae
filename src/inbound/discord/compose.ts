import type { InboundMsgtype } from "../../connections/inbound-hook-state.js";
import { buildContent, MAX_CONTENT_BYTES, PER_MESSAGE_PROFILE_KEY } from "../content.js";
import { matrixSafe } from "../matrix-safe.js";
import { fileContent, type UploadedFile } from "./files.js";
import { DISCORD_MESSAGE_KEY, type DiscordRecord } from "./message-object.js";
import { FLAG_SUPPRESS_NOTIFICATIONS, type DiscordAllowedMentions, type DiscordEmbed } from "./payload.js";
import { renderDiscordMessage } from "./render.js";

/** What one Discord message becomes: its text (content and embeds), then its files. */
export interface DiscordMessageParts {
  content: string;
  embeds: DiscordEmbed[];
  files: UploadedFile[];
  flags: number;
  allowedMentions: DiscordAllowedMentions;
  defaultMsgtype: InboundMsgtype;
  /** A per-message name and avatar (the hook may masquerade). */
  profile?: { displayname: string; avatarUrl: string | null };
}

/** Whether content and embeds show anything (an embed of empty objects shows nothing). */
export const hasText = (p: Pick<DiscordMessageParts, "content" | "embeds">): boolean => renderDiscordMessage(p.content, p.embeds).text.trim() !== "";

/**
 * The Matrix contents of a Discord message, in posting order: the text message (when it has
 * content or embeds), then one m.image / m.file per file. The first carries the Discord record
 * (for GET), and SUPPRESS_NOTIFICATIONS makes the text an m.notice.
 */
export function discordContents(parts: DiscordMessageParts): Record<string, unknown>[] {
  const record: DiscordRecord = { content: parts.content, embeds: parts.embeds, attachments: parts.files, flags: parts.flags };
  const contents: Record<string, unknown>[] = [];
  if (hasText(parts)) contents.push(textContent(parts, record));
  for (const file of parts.files) {
    const content = fileContent(file);
    if (parts.profile) content[PER_MESSAGE_PROFILE_KEY] = profileKey(parts.profile, false);
    contents.push(content);
  }
  if (contents[0] && !hasText(parts)) withRecord(contents[0], record);
  // Everything the homeserver stores must be canonical JSON it accepts (no lone surrogates in names).
  return contents.map((c) => matrixSafe(c) as Record<string, unknown>);
}

/** The text message alone (an edit's new content). */
export function textContent(parts: Omit<DiscordMessageParts, "files">, record: DiscordRecord): Record<string, unknown> {
  const rich = renderDiscordMessage(parts.content, parts.embeds);
  const msgtype = (parts.flags & FLAG_SUPPRESS_NOTIFICATIONS) !== 0 ? "m.notice" : parts.defaultMsgtype;
  const content = buildContent({ text: rich.text, html: rich.html, msgtype }, { defaultMsgtype: parts.defaultMsgtype, raw: undefined, rawMaxBytes: 0, ...(parts.profile ? { profile: parts.profile } : {}) });
  // Intentional mentions: only what Discord would notify — @everyone/@here when allowed — pings the room.
  content["m.mentions"] = parts.allowedMentions.everyone && /@(everyone|here)\b/.test(parts.content) ? { room: true } : {};
  return matrixSafe(withRecord(content, record)) as Record<string, unknown>;
}

/** Adds the record when the event still fits (a huge HTML rendering may leave no room: GET then shows the body). */
function withRecord(content: Record<string, unknown>, record: DiscordRecord): Record<string, unknown> {
  const withIt = { ...content, [DISCORD_MESSAGE_KEY]: record };
  if (Buffer.byteLength(JSON.stringify(withIt)) <= MAX_CONTENT_BYTES) Object.assign(content, { [DISCORD_MESSAGE_KEY]: record });
  return content;
}

const profileKey = (profile: { displayname: string; avatarUrl: string | null }, hasFallback: boolean) => ({
  id: `webhook:${profile.displayname}`,
  displayname: profile.displayname,
  ...(profile.avatarUrl ? { avatar_url: profile.avatarUrl } : {}),
  has_fallback: hasFallback,
});
