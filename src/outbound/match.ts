import { laneIds } from "../connections/hook-lanes.js";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { RoomEvent } from "../matrix/port.js";
import type { ChatTrigger } from "./formats/chat/chat-format.js";
import { botTrigger, type BotIdentity, type BotRoomFacts } from "./bot-trigger.js";
import { filterMatch } from "./hook-filter.js";
import { afterCommandsFor } from "./formats/tencent/index.js";

/** A webhook bot as the router hands it to match: the bot, its ghost, what is known of the event's room. */
export interface BotCandidate {
  bot: ActiveOutboundHook;
  ghost: BotIdentity;
  room: BotRoomFacts;
  allowsDirectMessages: boolean;
}

/**
 * The one place that decides which hooks take an event, called once per event by the router.
 * Each hook kind's filter decides: a plain hook's (see hook-filter.ts: event types, msgtypes,
 * trigger words) for the room's hooks; a bot's mention and DM rules (bot-trigger.ts) for the bots
 * whose ghost may be in the room, wherever the bot was added. Events of the bridge's own users
 * are never forwarded (no loops). A hook with several URLs gets one queue lane per URL.
 */
export function hooksForEvent(event: RoomEvent, roomHooks: readonly ActiveOutboundHook[], isBridgeUser: (userId: string) => boolean, bots: readonly BotCandidate[] = []): string[] {
  if (isBridgeUser(event.sender)) return [];
  const lanes: string[] = [];
  const take = (hook: ActiveOutboundHook) => (hook.urls.length <= 1 ? lanes.push(hook.id) : lanes.push(...laneIds(hook)));
  for (const hook of roomHooks) if (hook.kind !== "bot" && triggerOf(hook, event) !== null) take(hook);
  for (const candidate of bots) if (botTriggerOf(candidate, event) !== null) take(candidate.bot);
  return lanes;
}

/** Why a plain hook takes the event, or null when it does not. Pure: asked again at send time. */
export function triggerOf(hook: ActiveOutboundHook, event: RoomEvent): ChatTrigger | null {
  const { callback } = hook;
  if (callback) {
    // A before-hook judges messages before they are sent (src/callbacks/); it is never queued.
    if (callback.phase === "before") return null;
    const command = afterCommandsFor(event).find((word) => callback.commands === null || callback.commands.includes(word));
    return command === undefined ? null : { kind: "every-event" };
  }
  return filterMatch(hook.filter, event);
}

/** Why a bot takes the event (mention, direct message), or null. */
export function botTriggerOf(candidate: BotCandidate, event: RoomEvent): ChatTrigger | null {
  return botTrigger(candidate.ghost, event, candidate.room, candidate.allowsDirectMessages);
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
