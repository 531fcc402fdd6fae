import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import type { Logger } from "../../observability/logger.js";
import type { InboundPost, InboundPostsStore, InboundPostState } from "../../store/inbound-posts-table.js";
import { InboundError } from "../errors.js";
import type { GhostHook } from "../poster.js";
import { postFailure } from "./post-failure.js";

/** A post's hook as the worker finds it: live, removed ("gone"), or stored and not loaded yet ("held"). */
export type HookNow = ActiveInboundHook | "gone" | "held";

/** What became of a post once it is over; `refusal` is what its sender is answered with (4xx), or null when posted. */
export type PostSettled = (post: InboundPost, refusal: InboundError | null) => void;

export interface InboundPostWorkerDeps {
  table: Pick<InboundPostsStore, "hooksWithPending" | "next" | "partPosted" | "finish">;
  /** Posts one content as the hook's ghost with this transaction id; the homeserver deduplicates by it. */
  poster: { post(hook: GhostHook, content: Record<string, unknown>, txnId: string): Promise<string> };
  /** The live hook; "gone" once it is removed (its posts are dropped); "held" while it is stored but not loaded yet. */
  hookOf(hookId: string): HookNow | Promise<HookNow>;
  /** Hooks posted to at the same time. */
  concurrency: number;
  /** A post not taken by the homeserver after this long is given up. */
  giveUpAfterMs: number;
  /** A post refused or given up that no sender was waiting for: the room is told (once per post). */
  tellRoom(post: InboundPost, reason: string): void;
  onOutcome?(state: Exclude<InboundPostState, "queued">): void;
  log: Logger;
  now?: () => number;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;
/** Posts one lane posts before it makes way for other hooks' lanes. */
const LANE_BATCH = 200;
const STOP_WAIT_MS = 10_000;

/**
 * Posts stored inbound posts: each hook's in the order they were stored, part by part, as the
 * hook's ghost; several hooks at once (bounded). Part n of post `ip_x` is sent with transaction id
 * `ip_x.n`, so a part sent again after a crash between the send and its record posts nothing twice.
 * While the homeserver is down or busy a hook's posts are held and retried with a growing delay
 * (at most a minute), sooner when a new post of the hook comes in; one the homeserver refuses is
 * given up with its reason and the hook's later posts go on.
 */
export class InboundPostWorker {
  private readonly lanes = new Map<string, Promise<void>>();
  /** Hooks held back: the delay before the next try, and the timer of that try (null once woken). */
  private readonly held = new Map<string, { delayMs: number; timer: NodeJS.Timeout | null }>();
  private readonly watchers = new Map<string, Set<PostSettled>>();
  private stopped = false;
  private readonly now: () => number;
  /** The read of the hooks with pending posts under way (one at a time), and whether another was asked for meanwhile. */
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  /** After a failed read of the store: the timer of the next try, and its delay (growing to a minute). */
  private pumpRetry: { delayMs: number; timer: NodeJS.Timeout | null } | null = null;

  constructor(private readonly deps: InboundPostWorkerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Posts what is pending, also what a previous run stored and did not finish. */
  start(): void {
    this.pump();
  }

  /** A new post of the hook: try at once, even while the hook is held back. */
  wake(hookId: string): void {
    const held = this.held.get(hookId);
    if (held?.timer) {
      clearTimeout(held.timer);
      held.timer = null;
    }
    this.pump();
  }

  /** Calls `settled` once the post is over (posted, refused, dropped); returns the way to stop watching. */
  watch(postId: string, settled: PostSettled): () => void {
    let set = this.watchers.get(postId);
    if (!set) this.watchers.set(postId, (set = new Set()));
    set.add(settled);
    return () => {
      set.delete(settled);
      if (set.size === 0 && this.watchers.get(postId) === set) this.watchers.delete(postId);
    };
  }

  /** Resolves once no lane is posting: tests. */
  async idle(): Promise<void> {
    for (let round = 0; round < 10_000 && (this.lanes.size > 0 || this.pumping); round++) await Promise.allSettled([...this.lanes.values(), this.pumping]);
  }

  /** Whether the hook's posts are held back for now (the homeserver did not take the last try). */
  isHeld(hookId: string): boolean {
    return this.held.has(hookId);
  }

  /** No new tries; waits (bounded) for the posts under way. Their rows say where to resume. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const held of this.held.values()) if (held.timer) clearTimeout(held.timer);
    if (this.pumpRetry?.timer) clearTimeout(this.pumpRetry.timer);
    let timer: NodeJS.Timeout | undefined;
    // The store's read under way too: the store closes after this.
    await Promise.race([Promise.allSettled([...this.lanes.values(), this.pumping]), new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** Starts lanes (fill); one read of the store at a time, and one more when asked while it ran. */
  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.deps.concurrency - this.lanes.size <= 0) return;
    this.pumping = this.fill()
      .then(() => {
        if (this.pumpRetry?.timer) clearTimeout(this.pumpRetry.timer);
        this.pumpRetry = null;
      }, (err: unknown) => this.retryPump(err))
      .finally(() => {
        this.pumping = null;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  /** The store could not be read: tried again later (sooner when a post comes in). */
  private retryPump(err: unknown): void {
    if (this.stopped) return;
    if (this.pumpRetry?.timer) clearTimeout(this.pumpRetry.timer);
    const delayMs = this.pumpRetry ? Math.min(this.pumpRetry.delayMs * 2, MAX_DELAY_MS) : FIRST_DELAY_MS;
    if (!this.pumpRetry) this.deps.log.error({ err }, "could not read the queued inbound posts; trying again later");
    const timer = setTimeout(() => {
      if (this.pumpRetry) this.pumpRetry.timer = null;
      this.pump();
    }, delayMs);
    timer.unref();
    this.pumpRetry = { delayMs, timer };
  }

  /** Starts a lane for each hook with pending posts that is neither posting nor waiting for its retry, up to the concurrency. */
  private async fill(): Promise<void> {
    const hooks = await this.deps.table.hooksWithPending(this.deps.concurrency + this.lanes.size + this.held.size);
    for (const hookId of hooks) {
      if (this.stopped || this.lanes.size >= this.deps.concurrency) break;
      if (this.lanes.has(hookId) || this.held.get(hookId)?.timer) continue;
      const lane = this.lane(hookId)
        .catch((err: unknown) => {
          // A store failure: hold the hook rather than spin (after stop, the store may be closed: its row says where to resume).
          if (this.stopped) return;
          this.deps.log.error({ err, hookId }, "posting queued inbound posts failed; trying again later");
          this.holdBack(hookId, null);
        })
        .finally(() => {
          this.lanes.delete(hookId);
          this.pump();
        });
      this.lanes.set(hookId, lane);
    }
  }

  private async lane(hookId: string): Promise<void> {
    for (let n = 0; n < LANE_BATCH && !this.stopped; n++) {
      const post = await this.deps.table.next(hookId);
      if (!post) return;
      if ((await this.postOne(post)) === "later") return;
    }
  }

  private async postOne(post: InboundPost): Promise<"done" | "later"> {
    const { table, log } = this.deps;
    if (this.now() - post.createdAt > this.deps.giveUpAfterMs) {
      return this.giveUp(post, "expired", new InboundError("homeserver", `the homeserver did not take the post within ${Math.round(this.deps.giveUpAfterMs / 3_600_000)} h; it was given up`));
    }
    const hook = await this.deps.hookOf(post.hookId);
    if (hook === "gone") {
      log.info({ hookId: post.hookId, postId: post.id }, "queued inbound post dropped: its hook was removed");
      return this.giveUp(post, "dropped", new InboundError("not_found", "the hook was removed before the post was posted"));
    }
    if (hook === "held") {
      this.holdBack(post.hookId, null);
      return "later";
    }
    for (let part = post.posted; part < post.parts.length; part++) {
      if (this.stopped) return "later";
      let eventId: string;
      try {
        eventId = await this.deps.poster.post(hook, post.parts[part]!, `${post.id}.${part}`);
      } catch (err) {
        const failure = postFailure(err);
        if (failure.kind === "later") {
          if (!this.held.has(post.hookId)) log.warn({ err, hookId: post.hookId, postId: post.id }, "the homeserver did not take an inbound post; holding the hook's posts and trying again later");
          this.holdBack(post.hookId, failure.retryAfterMs);
          return "later";
        }
        log.warn({ hookId: post.hookId, roomId: post.roomId, postId: post.id, reason: failure.answer.reason }, "inbound post refused by the homeserver; not posted");
        return this.giveUp(post, "refused", failure.answer);
      }
      await table.partPosted(post, eventId);
    }
    this.held.delete(post.hookId);
    await table.finish(post, "posted", null, this.now());
    this.settle(post, null);
    return "done";
  }

  private async giveUp(post: InboundPost, state: "refused" | "dropped" | "expired", answer: InboundError): Promise<"done"> {
    await this.deps.table.finish(post, state, { kind: answer.kind, reason: answer.reason }, this.now());
    // The homeserver answered (or was not asked): the hook's next posts go on at once.
    if (state !== "expired") this.held.delete(post.hookId);
    const told = this.settle(post, answer);
    if (!told && state !== "dropped") this.deps.tellRoom(post, answer.reason);
    return "done";
  }

  /** Tells the senders waiting for the post; false when none was. */
  private settle(post: InboundPost, refusal: InboundError | null): boolean {
    this.deps.onOutcome?.(post.state as Exclude<InboundPostState, "queued">);
    const waiting = [...(this.watchers.get(post.id) ?? [])];
    this.watchers.delete(post.id);
    for (const settled of waiting) settled(post, refusal);
    return waiting.length > 0;
  }

  private holdBack(hookId: string, retryAfterMs: number | null): void {
    if (this.stopped) return;
    const previous = this.held.get(hookId);
    if (previous?.timer) clearTimeout(previous.timer);
    const delayMs = previous ? Math.min(previous.delayMs * 2, MAX_DELAY_MS) : FIRST_DELAY_MS;
    const wait = Math.min(Math.max(delayMs, retryAfterMs ?? 0), MAX_DELAY_MS);
    const timer = setTimeout(() => {
      const entry = this.held.get(hookId);
      if (entry) entry.timer = null;
      this.pump();
    }, wait);
    timer.unref();
    this.held.set(hookId, { delayMs, timer });
  }
}
