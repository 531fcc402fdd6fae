import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import type { RoomEvent } from "../../matrix/port.js";
import { PER_MESSAGE_PROFILE_KEY } from "../content.js";
import type { UploadedFile } from "./files.js";
import type { DiscordEmbed } from "./payload.js";

/**
 * What a Discord message was made of, kept in its first event's content under this key, so that
 * GET answers the content and embeds as sent (and an edit, in m.new_content, the edited ones).
 */
export const DISCORD_MESSAGE_KEY = "matrix-webhook-bridge.discord";

export interface DiscordRecord {
  content: string;
  embeds: DiscordEmbed[];
  attachments: Array<Omit<UploadedFile, "description"> & { description?: string }>;
  flags: number;
}

/** The event content's record, or one read from a message the hook posted otherwise (its body, no embeds). */
export function recordOf(content: Record<string, unknown>): DiscordRecord {
  const kept = content[DISCORD_MESSAGE_KEY];
  if (typeof kept === "object" && kept !== null && !Array.isArray(kept)) {
    const k = kept as Partial<DiscordRecord>;
    return {
      content: typeof k.content === "string" ? k.content : "",
      embeds: Array.isArray(k.embeds) ? k.embeds : [],
      attachments: Array.isArray(k.attachments) ? k.attachments : [],
      flags: typeof k.flags === "number" ? k.flags : 0,
    };
  }
  return { content: typeof content.body === "string" ? content.body : "", embeds: [], attachments: [], flags: 0 };
}

/** The newest edit Synapse bundles with an event (unsigned.m.relations.m.replace), when it carries new content. */
export function latestEdit(event: RoomEvent): { content: Record<string, unknown>; ts: number } | null {
  const relations = event.unsigned?.["m.relations"] as Record<string, unknown> | undefined;
  const replace = relations?.["m.replace"] as { content?: Record<string, unknown>; origin_server_ts?: number } | undefined;
  const next = replace?.content?.["m.new_content"];
  if (typeof next !== "object" || next === null || Array.isArray(next)) return null;
  return { content: next as Record<string, unknown>, ts: typeof replace?.origin_server_ts === "number" ? replace.origin_server_ts : event.origin_server_ts };
}

/** The content a message shows now: its newest edit's, else its own. */
export function currentContent(event: RoomEvent): Record<string, unknown> {
  return latestEdit(event)?.content ?? event.content;
}

/**
 * Discord's message object for a hook's message (what `?wait=true`, GET and PATCH answer): `id` is
 * the Matrix event id, `channel_id` the room, `author` the hook (or the per-message name it posted with),
 * attachments' `url` their mxc:// URI.
 */
export function messageObject(hook: Pick<ActiveInboundHook, "id" | "name" | "roomId">, event: RoomEvent): Record<string, unknown> {
  const edit = latestEdit(event);
  const content = edit?.content ?? event.content;
  const record = recordOf(content);
  const profile = content[PER_MESSAGE_PROFILE_KEY] as { displayname?: unknown } | undefined;
  const username = typeof profile?.displayname === "string" ? profile.displayname : hook.name;
  return {
    id: event.event_id,
    type: 0,
    content: record.content,
    channel_id: hook.roomId,
    author: { id: hook.id, username, avatar: null, discriminator: "0000", bot: true },
    attachments: record.attachments.map((a, i) => ({
      id: String(i),
      filename: a.filename,
      ...(a.description !== undefined ? { description: a.description } : {}),
      size: a.size,
      url: a.mxc,
      proxy_url: a.mxc,
      content_type: a.mimetype,
      ...(a.width && a.height ? { width: a.width, height: a.height } : {}),
    })),
    embeds: record.embeds.map((e) => ({ type: "rich", ...e })),
    mentions: [],
    mention_roles: [],
    mention_everyone: (content["m.mentions"] as { room?: unknown } | undefined)?.room === true,
    pinned: false,
    tts: false,
    timestamp: new Date(event.origin_server_ts).toISOString(),
    edited_timestamp: edit ? new Date(edit.ts).toISOString() : null,
    flags: record.flags,
    components: [],
    webhook_id: hook.id,
  };
}
