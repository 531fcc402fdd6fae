import { laneIds } from "../connections/hook-lanes.js";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { RoomEvent } from "../matrix/port.js";
import type { ChatTrigger } from "./formats/chat/chat-format.js";
import { filterMatch } from "./hook-filter.js";

/**
 * The one place that decides which hooks take an event, called once per event by the router.
 * Each hook kind's filter decides (see hook-filter.ts: event types, msgtypes, trigger words).
 * Events of the bridge's own users are never forwarded (no loops). A hook with several URLs
 * gets one queue lane per URL.
 */
export function hooksForEvent(event: RoomEvent, roomHooks: readonly ActiveOutboundHook[], isBridgeUser: (userId: string) => boolean): string[] {
  if (isBridgeUser(event.sender)) return [];
  const lanes: string[] = [];
  for (const hook of roomHooks) {
    if (triggerOf(hook, event) === null) continue;
    if (hook.urls.length <= 1) lanes.push(hook.id);
    else lanes.push(...laneIds(hook));
  }
  return lanes;
}

/** Why the hook takes the event, or null when it does not. Pure: asked again at send time. */
export function triggerOf(hook: ActiveOutboundHook, event: RoomEvent): ChatTrigger | null {
  return filterMatch(hook.filter, event);
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
