import type { RoomEvent } from "../matrix/port.js";
import type { ChatTrigger } from "./formats/chat/chat-format.js";

export const TRIGGER_WHEN = ["first_word", "starts_with"] as const;
export type TriggerWhen = (typeof TRIGGER_WHEN)[number];

/**
 * Which events an outbound hook takes (optional fields of its state event). All null: every
 * event that is not state, as before filters existed.
 */
export interface HookFilter {
  /** Event types taken; state events of these types too. Null: every non-state event. */
  eventTypes: readonly string[] | null;
  /** m.room.message msgtypes taken (other event types pass by eventTypes). Null: any. */
  msgtypes: readonly string[] | null;
  /** A message fires only when its first word is (or starts with) one of these. Null: no trigger words. */
  triggerWords: readonly string[] | null;
  triggerWhen: TriggerWhen;
}

export const NO_FILTER: HookFilter = { eventTypes: null, msgtypes: null, triggerWords: null, triggerWhen: "first_word" };

const FIRST_WORD = /^\s*(\S+)/u;

/** The first word of a message, as Mattermost splits it (on whitespace). */
export function firstWord(body: unknown): string | null {
  if (typeof body !== "string") return null;
  return FIRST_WORD.exec(body)?.[1] ?? null;
}

/** An edit (m.replace): its trigger fired with the original message, so it does not fire again. */
function isEdit(event: RoomEvent): boolean {
  const relation = event.content["m.relates_to"];
  return typeof relation === "object" && relation !== null && (relation as { rel_type?: unknown }).rel_type === "m.replace";
}

/**
 * Whether a hook with this filter takes the event, and why (null: it does not). The bridge's own
 * users are filtered by the caller. Pure: computed again at send time for the trigger word.
 */
export function filterMatch(filter: HookFilter, event: RoomEvent): ChatTrigger | null {
  const isState = event.state_key !== undefined;
  if (filter.eventTypes === null ? isState : !filter.eventTypes.includes(event.type)) return null;
  if (filter.msgtypes !== null && event.type === "m.room.message") {
    const msgtype = event.content.msgtype;
    if (typeof msgtype !== "string" || !filter.msgtypes.includes(msgtype)) return null;
  }
  if (filter.triggerWords === null) return { kind: "every-event" };
  if (isState || event.type !== "m.room.message" || isEdit(event)) return null;
  const word = firstWord(event.content.body);
  if (word === null) return null;
  const match = filter.triggerWhen === "starts_with"
    ? filter.triggerWords.find((t) => word.startsWith(t))
    : filter.triggerWords.find((t) => word === t);
  return match === undefined ? null : { kind: "trigger-word", word: match };
}
