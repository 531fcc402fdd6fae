import type { ActiveOutboundHook } from "../../connections/outbound-hook-registry.js";
import type { MatrixPort, RoomEvent } from "../../matrix/port.js";
import type { ChatContext, ChatFormat, ChatFormatName, ChatRequest, ChatTrigger } from "../formats/chat/chat-format.js";
import type { RoomDirectory } from "./room-directory.js";
import { threadRootOf } from "./thread.js";

export interface ChatRendererDeps {
  formats: (name: ChatFormatName) => ChatFormat;
  directory: RoomDirectory;
  matrix: Pick<MatrixPort, "eventTimestamp">;
  serverName: string;
  userAgent: string;
  /** Why the hook took the event (its trigger word, a bot's mention), worked out again from the event. */
  triggerOf: (hook: ActiveOutboundHook, event: RoomEvent) => ChatTrigger;
  /** For webhook bots: their ghost's user id and display name. */
  botOf: (hook: ActiveOutboundHook) => { userId: string; displayName: string } | null;
  /** Whether the room is a direct-message room between the sender and the hook's bot. */
  isDirect: (hook: ActiveOutboundHook, event: RoomEvent) => boolean;
}

/**
 * Builds a chat format's request: looks up what the format needs around the event (room name and
 * alias, the sender's display name, the thread root's time), then hands it to the format's pure
 * request function. Lookups that fail leave the field empty rather than holding the delivery back.
 */
export class ChatRenderer {
  constructor(private readonly deps: ChatRendererDeps) {}

  async request(format: ChatFormatName, hook: ActiveOutboundHook, token: string, event: RoomEvent): Promise<ChatRequest> {
    const { directory, matrix } = this.deps;
    const rootEventId = threadRootOf(event);
    const [room, displayName, rootTs] = await Promise.all([
      directory.room(event.room_id),
      directory.displayName(event.room_id, event.sender),
      rootEventId ? matrix.eventTimestamp(event.room_id, rootEventId).catch(() => null) : Promise.resolve(null),
    ]);
    const ctx: ChatContext = {
      hook: { id: hook.id, name: hook.name, token },
      serverName: this.deps.serverName,
      room: { id: event.room_id, name: room.name, alias: room.alias, direct: this.deps.isDirect(hook, event) },
      sender: { id: event.sender, displayName },
      thread: rootEventId ? { rootEventId, rootTs } : null,
      trigger: this.deps.triggerOf(hook, event),
      bot: this.deps.botOf(hook),
      contentType: hook.contentType,
      userAgent: this.deps.userAgent,
    };
    return this.deps.formats(format).request(event, ctx);
  }
}
