import type { RoomEvent } from "../../../matrix/port.js";

/**
 * What a Matrix event means in Tencent's group terms: a member joined, left or renamed
 * themselves, the room's name/topic/avatar changed, a message was withdrawn. Pure; reads the
 * previous state Synapse puts in `unsigned.prev_content` / `unsigned.prev_sender` (older
 * homeservers: top-level `prev_content`). Without it, the previous membership counts as unknown.
 */

export type JoinType = "Apply" | "Invited";
export type ExitType = "Quit" | "Kicked";

export type MemberChange =
  /** A new member. `inviter`: who invited them, when the homeserver said so. */
  | { kind: "joined"; joinType: JoinType; inviter: string | null }
  | { kind: "left"; exitType: ExitType }
  /** A member changed their display name in the room (Tencent's group card, NameCard; "" when removed). */
  | { kind: "renamed"; nameCard: string };

/** Memberships after which a leave or ban is not a member leaving (nobody left the group). */
const NOT_A_MEMBER = new Set(["invite", "knock", "leave", "ban"]);

export function memberChange(event: RoomEvent): MemberChange | null {
  if (event.type !== "m.room.member" || typeof event.state_key !== "string") return null;
  const now = stringField(event.content, "membership");
  const prev = previousContent(event);
  const before = prev ? stringField(prev, "membership") : null;
  if (now === "join") {
    if (before === "join") {
      const name = stringField(event.content, "displayname") ?? "";
      const oldName = (prev && stringField(prev, "displayname")) ?? "";
      return name === oldName ? null : { kind: "renamed", nameCard: name };
    }
    return before === "invite" ? { kind: "joined", joinType: "Invited", inviter: previousSender(event) } : { kind: "joined", joinType: "Apply", inviter: null };
  }
  if (now === "leave" || now === "ban") {
    // A refused invite, a withdrawn knock, an unban: nobody leaves the group.
    if (before !== null && NOT_A_MEMBER.has(before)) return null;
    return { kind: "left", exitType: now === "ban" || event.sender !== event.state_key ? "Kicked" : "Quit" };
  }
  return null;
}

export type RoomInfoField = "Name" | "Introduction" | "FaceUrl";

/** A change of the room's name, topic or avatar, with the new value as Matrix has it (the avatar's URL unresolved). */
export interface RoomInfoChange {
  field: RoomInfoField;
  value: string;
}

const INFO_EVENTS: ReadonlyMap<string, { field: RoomInfoField; read: (content: Record<string, unknown>) => string }> = new Map([
  ["m.room.name", { field: "Name" as const, read: (c: Record<string, unknown>) => stringField(c, "name") ?? "" }],
  ["m.room.topic", { field: "Introduction" as const, read: topicText }],
  ["m.room.avatar", { field: "FaceUrl" as const, read: (c: Record<string, unknown>) => stringField(c, "url") ?? "" }],
]);

/** The change, or null for other events and for a state event that set the same value again. */
export function roomInfoChange(event: RoomEvent): RoomInfoChange | null {
  const info = INFO_EVENTS.get(event.type);
  if (!info || event.state_key !== "") return null;
  const value = info.read(event.content);
  const prev = previousContent(event);
  if (prev && info.read(prev) === value) return null;
  return { field: info.field, value };
}

/** `topic`, else the plain-text representation of MSC3765's `m.topic`. */
function topicText(content: Record<string, unknown>): string {
  const plain = stringField(content, "topic");
  if (plain !== null) return plain;
  const rich = content["m.topic"];
  const parts = rich && typeof rich === "object" ? (rich as Record<string, unknown>)["m.text"] : null;
  if (!Array.isArray(parts)) return "";
  const text = parts.find((p) => p && typeof p === "object" && ((p as Record<string, unknown>).mimetype ?? "text/plain") === "text/plain");
  return (text && stringField(text as Record<string, unknown>, "body")) ?? "";
}

/** The event a redaction withdraws: top-level `redacts`, or `content.redacts` from room version 11; null when neither is a string. */
export function redactedEventId(event: RoomEvent): string | null {
  if (event.type !== "m.room.redaction") return null;
  const redacts = (event as { redacts?: unknown }).redacts ?? event.content.redacts;
  return typeof redacts === "string" && redacts !== "" ? redacts : null;
}

/** A message in Tencent's sense: m.room.message or m.sticker (a state event of those types is not one). */
export const isMessage = (event: RoomEvent): boolean => (event.type === "m.room.message" || event.type === "m.sticker") && event.state_key === undefined;

export const isEncryptedMessage = (event: RoomEvent): boolean => event.type === "m.room.encrypted" && event.state_key === undefined;

function previousContent(event: RoomEvent): Record<string, unknown> | null {
  const prev = event.unsigned?.prev_content ?? (event as { prev_content?: unknown }).prev_content;
  return prev && typeof prev === "object" && !Array.isArray(prev) ? (prev as Record<string, unknown>) : null;
}

function previousSender(event: RoomEvent): string | null {
  const sender = event.unsigned?.prev_sender;
  return typeof sender === "string" && sender !== "" ? sender : null;
}

export function stringField(o: Record<string, unknown>, key: string): string | null {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  return typeof v === "string" ? v : null;
}
