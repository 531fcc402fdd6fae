import type { ClaimedJob } from "../../delivery/queue/queue.js";
import type { SendOutcome } from "../../delivery/sender.js";
import type { DeliveryTarget } from "../../delivery/targets.js";
import type { DeliveryAnswers } from "../../delivery/worker.js";
import type { Logger } from "../../observability/logger.js";
import type { RepliesStore } from "../../store/replies-table.js";
import type { ChatFormat, ChatFormatName, ReplyLimits } from "../formats/chat/chat-format.js";
import { isChatFormat } from "../formats/format-names.js";
import { replyContents } from "./reply-content.js";
import type { ReplyPoster } from "./reply-poster.js";
import { threadRootOf } from "./thread.js";

export interface ChatRepliesDeps {
  formats: (name: ChatFormatName) => ChatFormat;
  table: RepliesStore;
  /** Told that replies were stored (it posts them, or tells the process that does). */
  poster: Pick<ReplyPoster, "kick">;
  limits: ReplyLimits;
  /** Whether a reply's username / icon_url may show (config replies.allowIdentityOverride). */
  allowIdentityOverride: boolean;
  /** An icon URL as an mxc:// URI (downloaded through the SSRF guard), or null when it cannot be had. */
  importAvatar: (url: string) => Promise<string | null>;
  /** A reply that could not be used: told to the room (once in a while) and counted. */
  onMalformed: (target: DeliveryTarget, reason: string) => void;
  log: Logger;
}

/**
 * A chat hook's answer: the format reads the reply from it, and the reply's messages are stored,
 * named by the delivery, before the delivery counts as done — then posted by the ReplyPoster.
 * An answer with nothing to post, or one that cannot be read, posts nothing; the delivery still
 * counts as delivered (the receiver did get it).
 */
export class ChatReplies implements DeliveryAnswers {
  constructor(private readonly deps: ChatRepliesDeps) {}

  async accept(job: ClaimedJob, target: DeliveryTarget, outcome: SendOutcome): Promise<null> {
    await this.store(job, target, outcome);
    return null; // a reply it cannot use does not make the delivery fail: the receiver did get it
  }

  private async store(job: ClaimedJob, target: DeliveryTarget, outcome: SendOutcome): Promise<void> {
    const format = target.hook.format;
    if (!isChatFormat(format)) return;
    const { log } = this.deps;
    const fields = { hook: target.hook.name, roomId: job.roomId, eventId: job.eventId };
    try {
      if (outcome.responseCut) return this.malformed(target, `the answer is larger than the ${outcome.responseBody?.length ?? 0} bytes read for replies`, fields);
      const parsed = this.deps.formats(format).reply(outcome.responseBody ?? "", outcome.responseContentType ?? null, this.deps.limits);
      if (parsed.kind === "none") return;
      if (parsed.kind === "malformed") return this.malformed(target, parsed.reason, fields);
      const reply = parsed.reply;
      const override = this.deps.allowIdentityOverride && reply.username ? reply.username : undefined;
      const avatarMxc = override && reply.iconUrl ? await this.deps.importAvatar(reply.iconUrl) : null;
      const event = JSON.parse(job.body) as { content?: Record<string, unknown> };
      const parts = replyContents(reply, { triggerEventId: job.eventId, threadRoot: threadRootOf({ content: event.content ?? {} }) }, override ? { username: override, avatarMxc } : null);
      if (parts.length === 0) return;
      const isNew = await this.deps.table.insertIfNew({ jobId: job.id, hookId: target.hook.id, roomId: job.roomId, eventId: job.eventId, parts });
      if (!isNew) log.info({ ...fields, jobId: job.id }, "a reply to this delivery was stored before; not posted again");
      this.deps.poster.kick();
    } catch (err) {
      // The store failed (disk full?): the delivery is retried, and its reply with it.
      log.error({ err, ...fields }, "could not store a reply; the delivery will be retried");
      throw err;
    }
  }

  private malformed(target: DeliveryTarget, reason: string, fields: Record<string, unknown>): void {
    this.deps.log.warn({ ...fields, reason }, "the receiver's reply could not be used; nothing posted");
    this.deps.onMalformed(target, reason);
  }
}
