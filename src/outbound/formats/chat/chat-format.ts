import type { RoomEvent } from "../../../matrix/port.js";

/**
 * The chat platforms' outgoing-webhook formats (Slack, Mattermost, Zulip): data plus pure
 * functions. The worker never asks which platform it talks to: it asks the format for a request
 * (event + context → body, content type, headers) and, for a 2xx answer, for a reply.
 */
export const CHAT_FORMAT_NAMES = ["slack", "mattermost", "zulip"] as const;
export type ChatFormatName = (typeof CHAT_FORMAT_NAMES)[number];

/** What fired the delivery: a hook's trigger word, or a webhook bot's mention / direct message. */
export type ChatTrigger =
  | { kind: "every-event" }
  | { kind: "trigger-word"; word: string }
  | { kind: "mention" }
  | { kind: "direct-message" };

/** Everything about the event's surroundings a format may need, looked up by the bridge before rendering. */
export interface ChatContext {
  /** The hook's (or bot's) name, store id and token (the token goes in the body, as the platforms do). */
  hook: { id: string; name: string; token: string };
  /** The homeserver's server name: stands in for Slack's team. */
  serverName: string;
  room: {
    id: string;
    /** m.room.name, or null. */
    name: string | null;
    /** m.room.canonical_alias, e.g. "#town-square:example.org", or null. */
    alias: string | null;
    /** A room whose only joined members are the sender and the bot (webhook bots' DMs). */
    direct: boolean;
  };
  sender: { id: string; displayName: string | null };
  /** The thread root when the event is in a thread (m.thread), with its origin_server_ts when known. */
  thread: { rootEventId: string; rootTs: number | null } | null;
  trigger: ChatTrigger;
  /** For webhook bots: the bot's ghost user and display name (Zulip's bot_email / bot_full_name). */
  bot: { userId: string; displayName: string } | null;
  /** Mattermost's outgoing-webhook content type: form (default) or JSON. */
  contentType: "form" | "json";
  /** Our User-Agent ("matrix-webhook-bridge/x.y.z"); a format may put its platform's in front. */
  userAgent: string;
}

export interface ChatRequest {
  body: string;
  contentType: string;
  /** Extra headers (e.g. Accept, User-Agent). Lower-case names. */
  headers: Record<string, string>;
}

/** One message of a reply, already converted to Matrix's plain text + HTML. */
export interface ReplyPart {
  text: string;
  /** HTML (the poster sanitizes it again), or null for plain text only. */
  html: string | null;
}

/** Limits on what one reply may post (config `replies`). */
export interface ReplyLimits {
  /** Characters of source text per message (Mattermost's 4,000). */
  maxChars: number;
  /** Messages per reply; the last one says what was cut. */
  maxParts: number;
}

/** A reply to post into the room: one or more messages, in order. */
export interface ChatReply {
  parts: ReplyPart[];
  /** True when maxParts cut the reply (the last part then carries a visible marker). */
  truncated: boolean;
  /** Answer in the thread of the triggering event (Mattermost's response_type "comment"), even when it was not in one. */
  startThread: boolean;
  /** Per-reply identity (Slack/Mattermost `username`, `icon_url`); used only when config allows overrides. */
  username?: string;
  iconUrl?: string;
}

export type ReplyParse =
  /** Nothing to post: empty body, empty text, `response_not_required`. */
  | { kind: "none" }
  | { kind: "reply"; reply: ChatReply }
  /** Not JSON, or wrong types: nothing is posted; the reason is logged and counted. */
  | { kind: "malformed"; reason: string };

export interface ChatFormat {
  readonly name: ChatFormatName;
  /** Whether a webhook bot of this format answers direct messages (Zulip's slack interface does not). */
  readonly allowsDirectMessages: boolean;
  request(event: RoomEvent, ctx: ChatContext): ChatRequest;
  /** A 2xx answer's body (as text, possibly empty) and content type → what to post. */
  reply(body: string, contentType: string | null, limits: ReplyLimits): ReplyParse;
}
