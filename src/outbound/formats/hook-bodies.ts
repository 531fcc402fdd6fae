import type { ClaimedJob } from "../../delivery/queue/queue.js";
import type { DeliveryTarget } from "../../delivery/targets.js";
import type { RoomEvent } from "../../matrix/port.js";
import type { ChatRenderer } from "../chat/chat-renderer.js";
import { isChatFormat } from "./format-names.js";
import type { DeliveryRenderer, Rendered } from "./render.js";

/** A body ready to send, with what its format adds: headers, and how much of the answer it reads. */
export interface HookBody extends Rendered {
  headers?: Record<string, string>;
  /** Bytes of the receiver's answer to keep (a chat format reads its reply from it). */
  answerBytes?: number;
}

/**
 * The request body of a job in its hook's format: the Matrix event itself (hookshot, json,
 * hookshot-multipart: DeliveryRenderer), or a chat platform's request (ChatRenderer).
 */
export class HookBodies {
  constructor(
    private readonly events: DeliveryRenderer,
    private readonly chat: ChatRenderer | null,
    private readonly answerBytes: number,
  ) {}

  /** The common case without waiting, or null when `render` has work to do. */
  plain(job: ClaimedJob, target: DeliveryTarget): HookBody | null {
    const format = target.hook.format;
    if (isChatFormat(format)) return null;
    return this.events.plain(job.body, format);
  }

  async render(job: ClaimedJob, target: DeliveryTarget): Promise<HookBody> {
    const format = target.hook.format;
    if (!isChatFormat(format)) return this.events.render(job.key, job.body, format);
    if (!this.chat) throw new Error(`the ${format} format is not available in this process`);
    const request = await this.chat.request(format, target.hook, target.token, JSON.parse(job.body) as RoomEvent);
    return {
      body: { kind: "memory", body: request.body, contentType: request.contentType },
      headers: request.headers,
      answerBytes: this.answerBytes,
      mediaError: null,
      cleanup: async () => undefined,
    };
  }
}
