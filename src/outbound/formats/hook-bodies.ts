import type { ClaimedJob } from "../../delivery/queue/queue.js";
import type { DeliveryTarget } from "../../delivery/targets.js";
import type { RoomEvent } from "../../matrix/port.js";
import type { ChatRenderer } from "../chat/chat-renderer.js";
import { isChatFormat } from "./format-names.js";
import type { DeliveryRenderer, Rendered } from "./render.js";
import { transformedBody, type BodyTransforms, type NoDelivery } from "../../transform/outbound-body.js";

export type { NoDelivery } from "../../transform/outbound-body.js";

/** A body ready to send, with what its format adds: headers, and how much of the answer it reads. */
export interface HookBody extends Rendered {
  /** The URL to send to when the format adds to the hook's (Tencent's query parameters). */
  url?: string;
  headers?: Record<string, string>;
  /** Bytes of the receiver's answer to keep (a chat format reads its reply from it). */
  answerBytes?: number;
}

/** A callback's request for a queued event (format tencent): where to, and what. */
export interface CallbackRequest {
  url: string;
  body: string;
  contentType: string;
}

export interface CallbackRequests {
  request(job: ClaimedJob, target: DeliveryTarget): CallbackRequest;
}

/**
 * The request body of a job in its hook's format: the Matrix event itself (hookshot, json,
 * hookshot-multipart: DeliveryRenderer), a chat platform's request (ChatRenderer), or a
 * callback's (CallbackRequests).
 */
export class HookBodies {
  constructor(
    private readonly events: DeliveryRenderer,
    private readonly chat: ChatRenderer | null,
    private readonly answerBytes: number,
    private readonly callbacks: CallbackRequests | null = null,
    /** Hooks' transformation functions (event formats only); null: none are run. */
    private readonly transforms: BodyTransforms | null = null,
  ) {}

  /** The common case without waiting, or null when `render` has work to do. */
  plain(job: ClaimedJob, target: DeliveryTarget): HookBody | null {
    const format = target.hook.format;
    if (isChatFormat(format)) return null;
    if (format === "tencent") return this.callback(job, target);
    if (this.transforms?.sourceOf(target.hook)) return null;
    return this.events.plain(job.body, format);
  }

  /**
   * Whether a job of this hook must go alone, not in a batch: hooks that cannot batch (chat formats,
   * tencent, a transformation function), and events the format sends as multipart (DeliveryRenderer.sendsAlone).
   */
  sendsAlone(eventJson: string, hook: DeliveryTarget["hook"]): boolean {
    const format = hook.format;
    if (isChatFormat(format) || format === "tencent" || this.transforms?.sourceOf(hook)) return true;
    return this.events.sendsAlone(eventJson, format);
  }

  /** A job's part of a batch body (the JSON it would have been sent as alone), or null when it must go alone. */
  async batchPart(job: ClaimedJob, target: DeliveryTarget): Promise<string | null> {
    const format = target.hook.format;
    if (this.sendsAlone(job.body, target.hook) || isChatFormat(format) || format === "tencent") return null;
    const rendered = await this.events.render(job.key, job.body, format);
    if (rendered.body.kind === "memory" && rendered.body.contentType === "application/json") return rendered.body.body.toString();
    await rendered.cleanup();
    return null;
  }

  private callback(job: ClaimedJob, target: DeliveryTarget): HookBody {
    if (!this.callbacks) throw new Error("the tencent format is not available in this process");
    const request = this.callbacks.request(job, target);
    return {
      url: request.url,
      body: { kind: "memory", body: request.body, contentType: request.contentType },
      answerBytes: this.answerBytes,
      mediaError: null,
      cleanup: async () => undefined,
    };
  }

  /** The body to send, or why nothing is sent (a transformation function's `empty`, or its failure). */
  async render(job: ClaimedJob, target: DeliveryTarget): Promise<HookBody | NoDelivery> {
    const format = target.hook.format;
    if (format === "tencent") return this.callback(job, target);
    const source = isChatFormat(format) ? null : (this.transforms?.sourceOf(target.hook) ?? null);
    if (source !== null) return transformedBody(this.transforms!, target.hook, source, job.body);
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
