import { createHash } from "node:crypto";
import type { RoomEvent } from "../../../matrix/port.js";
import { mediaOf } from "../../media/media-content.js";
import type { ChatContext } from "./chat-format.js";

/**
 * The Matrix → chat-platform field mapping shared by the Slack and Mattermost formats (Zulip
 * uses the same names and ids for its own fields). Pure: the same event and context always give
 * the same fields. The mapping is documented in docs/chat-formats.md.
 */
export interface ChatFields {
  token: string;
  /** The homeserver's server name (Slack's team). */
  team_id: string;
  team_domain: string;
  /** The room id. */
  channel_id: string;
  /** The canonical alias's localpart, else the room name, else the room id. */
  channel_name: string;
  /** The thread root's Slack-style ts, or "" when the event is not in a thread (or the root's time is unknown). */
  thread_ts: string;
  /** Slack-style ts of the event ("1504640775.123456"). */
  timestamp: string;
  /** origin_server_ts in milliseconds (Mattermost's JSON, Zulip's seconds are derived from it). */
  timestampMs: number;
  user_id: string;
  user_name: string;
  text: string;
  trigger_word: string;
  service_id: string;
  post_id: string;
  /** The media event's mxc:// URL(s), comma-joined; "" for other events. */
  file_ids: string;
}

export function chatFields(event: RoomEvent, ctx: ChatContext): ChatFields {
  const ms = eventMillis(event.origin_server_ts);
  return {
    token: ctx.hook.token,
    team_id: ctx.serverName,
    team_domain: ctx.serverName,
    channel_id: ctx.room.id,
    channel_name: channelName(ctx.room),
    thread_ts: ctx.thread && ctx.thread.rootTs !== null ? slackTs(ctx.thread.rootTs, ctx.thread.rootEventId) : "",
    timestamp: slackTs(ms, event.event_id),
    timestampMs: ms,
    user_id: event.sender,
    user_name: senderName(ctx.sender),
    text: bodyOf(event),
    trigger_word: ctx.trigger.kind === "trigger-word" ? ctx.trigger.word : "",
    service_id: ctx.hook.id,
    post_id: event.event_id,
    file_ids: mediaUrls(event).join(","),
  };
}

/** The event's body as its sender wrote it; "" for events without one (state events, reactions). */
export const bodyOf = (event: RoomEvent): string => (typeof event.content.body === "string" ? event.content.body : "");

/** origin_server_ts as a non-negative safe integer (0 when the homeserver sent something else). */
export const eventMillis = (ts: unknown): number => (typeof ts === "number" && Number.isSafeInteger(ts) && ts >= 0 ? ts : 0);

/** "#town-square:example.org" → "town-square"; else the room's name; else its id. */
export function channelName(room: ChatContext["room"]): string {
  const alias = room.alias ? /^#([^:]+):/.exec(room.alias)?.[1] : undefined;
  if (alias) return alias;
  if (room.name && room.name.trim()) return room.name;
  return room.id;
}

/** The display name, else the mxid's localpart ("@alice:example.org" → "alice"). */
export function senderName(sender: ChatContext["sender"]): string {
  if (sender.displayName && sender.displayName.trim()) return sender.displayName;
  return localpart(sender.id);
}

export const localpart = (mxid: string): string => /^@([^:]+)/.exec(mxid)?.[1] ?? mxid;

/**
 * A Slack-style message ts: seconds, a dot, then six digits — the milliseconds and three digits
 * derived from the event id. Slack's ts names a message, so two events in the same millisecond
 * must not share one; the same event (a thread root seen again as thread_ts) always gets the same.
 */
export function slackTs(ms: number, eventId: string): string {
  const t = eventMillis(ms);
  const tie = Number(BigInt(`0x${sha256Hex(eventId).slice(0, 12)}`) % 1000n);
  return `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, "0")}${String(tie).padStart(3, "0")}`;
}

/**
 * A positive safe integer standing for a Matrix id where a platform has integer ids (Zulip's
 * message, user, stream ids): the first 53 bits of the id's SHA-256, never 0. Stable across
 * restarts and bridges; two ids colliding is as likely as a 53-bit hash collision.
 */
export function stableIntId(matrixId: string): number {
  const n = BigInt(`0x${sha256Hex(matrixId).slice(0, 14)}`) >> 3n;
  return Number(n % (2n ** 53n - 1n)) + 1;
}

const sha256Hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/** The mxc:// URL of a media event (encrypted or not); none for other events. */
export function mediaUrls(event: RoomEvent): string[] {
  const media = mediaOf(event);
  return media ? [media.mxc] : [];
}
