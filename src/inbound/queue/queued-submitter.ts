import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import type { Logger } from "../../observability/logger.js";
import type { InboundPost, InboundPostsStore } from "../../store/inbound-posts-table.js";
import { InboundError, type InboundErrorKind, INBOUND_ERROR_STATUS } from "../errors.js";
import type { PostSubmitter, Submitted } from "../submitter.js";
import type { InboundPostWorker } from "./post-worker.js";

export interface QueuedSubmitterDeps {
  table: Pick<InboundPostsStore, "store">;
  worker: Pick<InboundPostWorker, "wake" | "watch">;
  /** How long a request waits for its post to be in the room before it is answered "queued". */
  waitMs: number;
  log: Logger;
}

/**
 * Stores every post durably before its sender is answered, then lets the worker post it (in order
 * per hook). The sender waits up to `waitMs`: posted by then → the event ids; refused by the
 * homeserver by then → the refusal (4xx); else → queued, with the post's id (202). A delivery id
 * (Idempotency-Key, X-GitHub-Delivery) is stored once per hook: a redelivery is answered from
 * the post it names, queued or posted, and posts nothing again.
 */
export class QueuedSubmitter implements PostSubmitter {
  constructor(private readonly deps: QueuedSubmitterDeps) {}

  async submit(hook: ActiveInboundHook, contents: readonly Record<string, unknown>[], opts: { deliveryKey: string | null }): Promise<Submitted> {
    const { post, created } = await this.deps.table.store({ hookId: hook.id, roomId: hook.roomId, deliveryKey: opts.deliveryKey, parts: [...contents] });
    if (!created) this.deps.log.info({ hookId: hook.id, postId: post.id, state: post.state }, "inbound redelivery answered from its stored post");
    const answer = this.outcome(post);
    if (answer) return answer;
    const settled = this.settled(post.id);
    if (created) this.deps.worker.wake(hook.id);
    return settled;
  }

  /** What a post that is over is answered with; null while it is queued. */
  private outcome(post: InboundPost): Submitted | null {
    if (post.state === "queued") return null;
    if (post.state === "posted") return { kind: "posted", eventIds: post.eventIds };
    throw refusalOf(post);
  }

  private settled(postId: string): Promise<Submitted> {
    return new Promise<Submitted>((resolve, reject) => {
      const queued = () => {
        unwatch();
        resolve({ kind: "queued", id: postId });
      };
      const timer = setTimeout(queued, this.deps.waitMs);
      timer.unref();
      const unwatch = this.deps.worker.watch(postId, (post, refusal) => {
        clearTimeout(timer);
        unwatch();
        if (refusal) reject(refusal);
        else resolve({ kind: "posted", eventIds: post.eventIds });
      });
    });
  }
}

/** The answer a post given up gets when it is asked for again (a redelivery): the refusal it had. */
export function refusalOf(post: InboundPost): InboundError {
  const kind = post.errorKind !== null && Object.hasOwn(INBOUND_ERROR_STATUS, post.errorKind) ? (post.errorKind as InboundErrorKind) : "homeserver";
  return new InboundError(kind, post.error ?? "the post was not posted");
}
