import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { InboundGhosts, RoomEvent } from "../matrix/port.js";
import { InboundError } from "./errors.js";

/** Event ids as they come in a URL path: `$` and the id's own characters, bounded. */
const EVENT_ID = /^\$[A-Za-z0-9+/=_.:-]{1,255}$/;

export interface PostedMessagesDeps {
  ghosts: Pick<InboundGhosts, "sendAsGhost" | "redactAsGhost" | "fetchEvent">;
  ghostUserId(hookId: string): string;
}

/**
 * The messages an inbound hook posted, edited and deleted by their event id: a message belongs to
 * the hook when its own ghost sent it in the hook's room — the homeserver's record says so, no
 * table of ours can drift from it. Anything else is "not found" (also for other hooks' messages).
 */
export class PostedMessages {
  constructor(private readonly deps: PostedMessagesDeps) {}

  /** The hook's message (not redacted), or null. */
  async owned(hook: Pick<ActiveInboundHook, "id" | "roomId">, eventId: string): Promise<RoomEvent | null> {
    if (!EVENT_ID.test(eventId)) return null;
    const event = await this.deps.ghosts.fetchEvent(hook.roomId, eventId);
    if (!event || event.room_id !== hook.roomId || event.sender !== this.deps.ghostUserId(hook.id)) return null;
    if (event.type !== "m.room.message" || Object.keys(event.content ?? {}).length === 0) return null; // redacted, or not a message
    // An edit is not a message of its own: clients ignore an edit of an edit.
    if ((event.content["m.relates_to"] as { rel_type?: unknown } | undefined)?.rel_type === "m.replace") return null;
    return event;
  }

  /** Replaces the message's content (an m.replace by the ghost); returns the edit's event id. */
  async edit(hook: Pick<ActiveInboundHook, "id" | "roomId">, eventId: string, content: Record<string, unknown>): Promise<string> {
    const original = await this.owned(hook, eventId);
    if (!original) throw new InboundError("not_found", "no message of this hook has that id");
    return this.deps.ghosts.sendAsGhost(this.deps.ghostUserId(hook.id), hook.roomId, editContent(eventId, content));
  }

  /** Redacts the message, by the ghost. */
  async remove(hook: Pick<ActiveInboundHook, "id" | "roomId">, eventId: string, reason?: string): Promise<void> {
    const original = await this.owned(hook, eventId);
    if (!original) throw new InboundError("not_found", "no message of this hook has that id");
    await this.deps.ghosts.redactAsGhost(this.deps.ghostUserId(hook.id), hook.roomId, eventId, reason);
  }
}

/**
 * An edit as Matrix clients show it (m.replace): the new content under m.new_content, and a
 * fallback for clients without edits — the same text marked with "* ".
 */
export function editContent(eventId: string, content: Record<string, unknown>): Record<string, unknown> {
  const { "m.relates_to": _relation, ...newContent } = content;
  const fallback: Record<string, unknown> = { ...newContent, body: `* ${typeof newContent.body === "string" ? newContent.body : ""}` };
  if (typeof newContent.formatted_body === "string") fallback.formatted_body = `* ${newContent.formatted_body}`;
  return { ...fallback, "m.new_content": newContent, "m.relates_to": { rel_type: "m.replace", event_id: eventId } };
}
