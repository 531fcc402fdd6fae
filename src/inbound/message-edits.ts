import type { IncomingHttpHeaders } from "node:http";
import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { RoomEvent } from "../matrix/port.js";
import { badRequest, InboundError } from "./errors.js";
import { homeserverAnswer } from "./homeserver-answer.js";
import type { PostedMessages } from "./posted-messages.js";
import type { InboundReceiver } from "./receive.js";

/** Messages whose text is a file's name: an edit cannot change what they are. */
const FILE_MSGTYPES = new Set(["m.image", "m.file", "m.audio", "m.video"]);

export interface MessageEditAnswer {
  status: number;
  body?: Record<string, unknown>;
}

/**
 * `PATCH` and `DELETE /webhook/{id}/messages/{event_id}`: a hook edits (an m.replace by its user)
 * or deletes (a redaction) a message it posted. The new content is read as a post to the hook's
 * URL is, with the hook's transformation function and permissions. Another hook's message, anyone
 * else's, a redacted or an unknown one: 404 `{}`.
 */
export class MessageEdits {
  constructor(private readonly deps: { receiver: Pick<InboundReceiver, "contentOf">; messages: Pick<PostedMessages, "owned" | "edit" | "remove"> }) {}

  async edit(hook: ActiveInboundHook, eventId: string, headers: IncomingHttpHeaders, body: Buffer): Promise<MessageEditAnswer> {
    const original = await this.owned(hook, eventId);
    if (typeof original.content.msgtype === "string" && FILE_MSGTYPES.has(original.content.msgtype)) throw badRequest("this message is a file: its text cannot be changed");
    const content = await this.deps.receiver.contentOf(hook, "generic", headers, body);
    if (content === null) throw badRequest("the hook's transformation function returned empty: there is nothing to replace the message with");
    const editId = await this.deps.messages.edit(hook, eventId, content).catch((err: unknown) => Promise.reject(err instanceof InboundError ? err : homeserverAnswer(err)));
    return { status: 200, body: { ok: true, event_id: eventId, edit_event_id: editId } };
  }

  async remove(hook: ActiveInboundHook, eventId: string): Promise<MessageEditAnswer> {
    await this.owned(hook, eventId);
    await this.deps.messages.remove(hook, eventId).catch((err: unknown) => Promise.reject(err instanceof InboundError ? err : homeserverAnswer(err)));
    return { status: 204 };
  }

  private async owned(hook: ActiveInboundHook, eventId: string): Promise<RoomEvent> {
    const event = await this.deps.messages.owned(hook, eventId).catch((err: unknown) => Promise.reject(homeserverAnswer(err)));
    if (!event) throw new InboundError("not_found", "no message of this hook has that id");
    return event;
  }
}
