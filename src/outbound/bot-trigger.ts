import type { RoomEvent } from "../matrix/port.js";
import type { ChatTrigger } from "./formats/chat/chat-format.js";

/** A webhook bot as its trigger rules see it: its ghost user and name. */
export interface BotIdentity {
  userId: string;
  displayName: string;
}

/** What the bridge knows of the room an event is in, as far as a bot's rules need it. */
export interface BotRoomFacts {
  /** The bot's ghost is joined to the room. */
  ghostJoined: boolean;
  /** The room's joined members, when known. */
  joinedMembers: ReadonlySet<string> | null;
}

const MATRIX_TO = "https://matrix.to/#/";

/**
 * Zulip's rules for outgoing webhook bots, on Matrix: in a room its ghost is joined to, a bot fires
 * when mentioned (a pill, m.mentions, or its name at the start of the message); in a direct-message
 * room with it (the sender and the ghost are its only joined members) on any message, unless its
 * format refuses direct messages (Zulip's slack interface). A room the ghost is not in never fires
 * it: Zulip decided that a mention in a DM between two other users does not reach the bot. Edits
 * and non-messages never fire (the original message did). Pure.
 */
export function botTrigger(bot: BotIdentity, event: RoomEvent, room: BotRoomFacts, allowsDirectMessages: boolean): ChatTrigger | null {
  if (!room.ghostJoined || event.sender === bot.userId) return null;
  if (event.type !== "m.room.message" || event.state_key !== undefined || isEdit(event)) return null;
  if (isDirectRoom(room.joinedMembers, event.sender, bot.userId)) return allowsDirectMessages ? { kind: "direct-message" } : null;
  return mentions(bot, event.content) ? { kind: "mention" } : null;
}

/** A room whose joined members are exactly the sender and the bot's ghost. */
export function isDirectRoom(members: ReadonlySet<string> | null, sender: string, ghost: string): boolean {
  return members !== null && members.size === 2 && members.has(sender) && members.has(ghost);
}

/** Whether the message mentions the bot: m.mentions.user_ids, a pill in the HTML, or its name first in the body. */
export function mentions(bot: BotIdentity, content: Record<string, unknown>): boolean {
  const declared = (content["m.mentions"] as { user_ids?: unknown } | undefined)?.user_ids;
  if (Array.isArray(declared) && declared.includes(bot.userId)) return true;
  if (content.format === "org.matrix.custom.html" && typeof content.formatted_body === "string" && hasPill(content.formatted_body, bot.userId)) return true;
  return typeof content.body === "string" && startsWithName(content.body, bot.displayName);
}

/** A link to the user (matrix.to, the id raw or percent-encoded) outside the quoted reply fallback. */
function hasPill(html: string, userId: string): boolean {
  const own = html.replace(/<mx-reply>[\s\S]*?<\/mx-reply>/gi, "");
  const targets = [userId, encodeURIComponent(userId)].map((id) => `${MATRIX_TO}${id}`);
  for (const match of own.matchAll(/href\s*=\s*(["'])(.*?)\1/gi)) {
    const href = match[2]!.replace(/&amp;/g, "&");
    if (targets.some((t) => href === t || href.startsWith(`${t}?`))) return true;
  }
  return false;
}

/** "name: …", "name, …", "@name …" (or the name alone), ignoring case; not the name inside a longer word. */
export function startsWithName(body: string, name: string): boolean {
  const text = body.trimStart().toLowerCase();
  const lower = name.toLowerCase();
  if (lower.length === 0) return false;
  if (text.startsWith(`@${lower}`)) return endsWord(text, lower.length + 1, true);
  if (text.startsWith(lower)) return endsWord(text, lower.length, false);
  return false;
}

function endsWord(text: string, at: number, atSign: boolean): boolean {
  const next = text.charAt(at);
  if (next === "" || next === ":" || next === ",") return true;
  return atSign && /\s/u.test(next);
}

function isEdit(event: RoomEvent): boolean {
  const relation = event.content["m.relates_to"];
  return typeof relation === "object" && relation !== null && (relation as { rel_type?: unknown }).rel_type === "m.replace";
}
