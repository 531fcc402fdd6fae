import type { GhostHook, InboundPoster } from "../../inbound/poster.js";
import { postFailure } from "../../inbound/queue/post-failure.js";
import type { Logger } from "../../observability/logger.js";
import type { PendingReply, RepliesStore } from "../../store/replies-table.js";

export interface ReplyPosterDeps {
  table: RepliesStore;
  poster: InboundPoster;
  /** The hook (or bot) whose ghost posts the reply; null once it is removed. */
  ghostOf: (hookId: string) => GhostHook | null;
  log: Logger;
  onPosted?: (reply: PendingReply) => void;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Posts stored replies, oldest first, part by part, as the hook's ghost. Each part's transaction
 * id derives from the delivery (`<webhook-id>.<part>`), so a part sent again after a crash between
 * the send and its bookkeeping is deduplicated by the homeserver. A homeserver that is down or
 * busy holds the replies back (retried with a growing delay); one the room refuses is given up,
 * with the reason kept and logged.
 */
export class ReplyPoster {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 1000;
  private stopped = false;

  constructor(private readonly deps: ReplyPosterDeps) {}

  /** Posts what is pending now (also what a previous run stored and did not finish). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().catch((err: unknown) => {
      // The store failed (PostgreSQL unreachable, a disk error): the replies stay stored.
      this.deps.log.error({ err }, "could not read or update the stored replies; trying again later");
      this.retryLater();
    }).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves once the posting under way (if any) is over: tests and shutdown. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.idle();
  }

  private async drain(): Promise<void> {
    for (let round = 0; round < 1000 && !this.stopped; round++) {
      const batch = await this.deps.table.pending(50);
      if (batch.length === 0) return;
      for (const reply of batch) {
        if (this.stopped) return;
        const outcome = await this.post(reply);
        if (outcome === "later") return this.retryLater();
      }
      this.backoffMs = 1000;
    }
  }

  private async post(reply: PendingReply): Promise<"done" | "later"> {
    const { table, log } = this.deps;
    const hook = this.deps.ghostOf(reply.hookId);
    if (!hook) {
      await table.giveUp(reply.id, "the hook was removed before its reply was posted");
      log.info({ hookId: reply.hookId, eventId: reply.eventId }, "reply not posted: the hook was removed");
      return "done";
    }
    for (let part = reply.posted; part < reply.parts.length; part++) {
      try {
        await this.deps.poster.post({ ...hook, roomId: reply.roomId }, reply.parts[part]!, `${reply.jobId}.${part}`);
      } catch (err) {
        const failure = postFailure(err);
        const answer = failure.answer;
        if (failure.kind === "later") {
          log.warn({ err, hookId: reply.hookId, eventId: reply.eventId }, "could not post a reply yet; trying again later");
          return "later";
        }
        await table.giveUp(reply.id, answer.message);
        log.warn({ hookId: reply.hookId, roomId: reply.roomId, eventId: reply.eventId, reason: answer.message }, "reply refused by the homeserver; not posted");
        return "done";
      }
      await table.partPosted(reply.id, part + 1, part + 1 === reply.parts.length);
    }
    if (reply.parts.length === 0) await table.partPosted(reply.id, 0, true);
    this.deps.onPosted?.(reply);
    return "done";
  }

  private retryLater(): void {
    if (this.timer || this.stopped) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
    this.timer.unref();
  }
}
