import { INBOUND_HOOK_EVENT_TYPE } from "../connections/inbound-hook-state.js";
import { kindOfEventType } from "../connections/outbound-hooks.js";
import type { StateEvent } from "../matrix/port.js";

/** The state a room's hooks are built from: hook state, who may set it, encryption, members (webhook bots' DMs). */
const AUTHORITY_AND_MEMBERS = new Set(["m.room.create", "m.room.power_levels", "m.room.encryption", "m.room.member"]);

export function keptInSnapshot(type: string): boolean {
  return AUTHORITY_AND_MEMBERS.has(type) || type === INBOUND_HOOK_EVENT_TYPE || kindOfEventType(type) !== null;
}

/** The part of a room's state a snapshot keeps, reduced to the fields the hooks are built from. */
export function snapshotOf(state: readonly StateEvent[]): StateEvent[] {
  return state.filter((e) => typeof e.type === "string" && typeof e.state_key === "string" && keptInSnapshot(e.type)).map(slim);
}

/** The snapshot with one state event applied (it replaces the event of the same type and key). */
export function withStateEvent(snapshot: readonly StateEvent[], event: StateEvent): StateEvent[] {
  const rest = snapshot.filter((e) => e.type !== event.type || e.state_key !== event.state_key);
  return keptInSnapshot(event.type) ? [...rest, slim(event)] : rest;
}

/** Do both hold the same state events (by type, key and event id)? */
export function sameSnapshot(a: readonly StateEvent[], b: readonly StateEvent[]): boolean {
  if (a.length !== b.length) return false;
  const ids = new Map(a.map((e) => [`${e.type}\u0000${e.state_key}`, e.event_id ?? JSON.stringify(e.content)]));
  return b.every((e) => ids.get(`${e.type}\u0000${e.state_key}`) === (e.event_id ?? JSON.stringify(e.content)));
}

function slim(e: StateEvent): StateEvent {
  return { type: e.type, state_key: e.state_key, sender: e.sender, content: e.content ?? {}, ...(e.event_id !== undefined ? { event_id: e.event_id } : {}) };
}
