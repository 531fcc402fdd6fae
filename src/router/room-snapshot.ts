import { INBOUND_HOOK_EVENT_TYPE } from "../connections/inbound-hook-state.js";
import { kindOfEventType } from "../connections/outbound-hooks.js";
import type { StateEvent } from "../matrix/port.js";

/** The state a room's hooks are built from: hook state, who may set it, encryption, members (webhook bots' DMs). */
const AUTHORITY_AND_MEMBERS = new Set(["m.room.create", "m.room.power_levels", "m.room.encryption", "m.room.member"]);

export function keptInSnapshot(type: string): boolean {
  return AUTHORITY_AND_MEMBERS.has(type) || type === INBOUND_HOOK_EVENT_TYPE || kindOfEventType(type) !== null;
}

/** The part of a room's state a snapshot keeps, reduced to the fields the hooks are built from (anything not a state event is left out). */
export function snapshotOf(state: readonly unknown[]): StateEvent[] {
  return state.filter(isStateEvent).filter((e) => keptInSnapshot(e.type)).map(slim);
}

/** Does a saved snapshot hold only well-formed state events (a row from elsewhere, or damaged, may not)? */
export function isWellFormedSnapshot(value: unknown): value is StateEvent[] {
  return Array.isArray(value) && value.every(isStateEvent);
}

/** Does the snapshot hold the event with this id (a redaction of it changes the room's state)? */
export function holdsEvent(snapshot: readonly StateEvent[], eventId: string): boolean {
  return snapshot.some((e) => e.event_id === eventId);
}

/** The snapshot with one state event applied (it replaces the event of the same type and key). */
export function withStateEvent(snapshot: readonly StateEvent[], event: StateEvent): StateEvent[] {
  const rest = snapshot.filter((e) => e.type !== event.type || e.state_key !== event.state_key);
  return keptInSnapshot(event.type) && isStateEvent(event) ? [...rest, slim(event)] : rest;
}

/** Do both hold the same state events (by type, key, event id and content: a redaction keeps the id)? */
export function sameSnapshot(a: readonly StateEvent[], b: readonly StateEvent[]): boolean {
  if (a.length !== b.length) return false;
  const seen = new Map(a.map((e) => [`${e.type}\u0000${e.state_key}`, fingerprint(e)]));
  return b.every((e) => seen.get(`${e.type}\u0000${e.state_key}`) === fingerprint(e));
}

const fingerprint = (e: StateEvent): string => `${e.event_id ?? ""}\u0000${JSON.stringify(e.content)}`;

function isStateEvent(e: unknown): e is StateEvent {
  if (typeof e !== "object" || e === null) return false;
  const { type, state_key, sender, content } = e as Record<string, unknown>;
  return typeof type === "string" && typeof state_key === "string" && typeof sender === "string" && typeof content === "object" && content !== null && !Array.isArray(content);
}

/** Members are kept as their membership only: the bots' rooms need who is joined, not names and avatars (a large room's row stays small). */
function slim(e: StateEvent): StateEvent {
  const content = e.type === "m.room.member" ? { membership: e.content.membership } : e.content;
  return { type: e.type, state_key: e.state_key, sender: e.sender, content, ...(typeof e.event_id === "string" ? { event_id: e.event_id } : {}) };
}
