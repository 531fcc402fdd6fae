import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { RoomEvent } from "../matrix/port.js";

/**
 * The hooks an event goes to. State events and events of the bridge's own users are never
 * forwarded (no loops); everything else goes to every hook of the room.
 */
export function hooksForEvent(event: RoomEvent, roomHooks: readonly ActiveOutboundHook[], isBridgeUser: (userId: string) => boolean): string[] {
  if (event.state_key !== undefined) return [];
  if (isBridgeUser(event.sender)) return [];
  return roomHooks.map((hook) => hook.id);
}

/**
 * The event as receivers get it: every top-level field the homeserver sent in the transaction,
 * as it sent them — `redacts` of a redaction in room versions before 11, `state_key`, and fields
 * a later spec version adds. The bridge adds nothing to the event objects it is given, so
 * nothing of its own can leak in here.
 */
export function outboundEventJson(event: RoomEvent): string {
  return JSON.stringify(event);
}
