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

/** The event as receivers get it: the Matrix event's own fields, nothing the bridge adds. */
export function outboundEventJson(event: RoomEvent): string {
  const { event_id, room_id, sender, type, content, origin_server_ts, unsigned } = event;
  return JSON.stringify({ event_id, room_id, sender, type, content, origin_server_ts, unsigned });
}
