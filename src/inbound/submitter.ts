import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { Logger } from "../observability/logger.js";
import type { InboundDeliveriesStore } from "../store/inbound-deliveries-table.js";
import { homeserverAnswer } from "./homeserver-answer.js";
import type { PostResult } from "./receive.js";

/** What a post became: posted (every event id, in order), or stored to post later (the post's id). */
export type Submitted = { kind: "posted"; eventIds: string[] } | { kind: "queued"; id: string };

/**
 * How an inbound request's messages reach the room: the message and any files, in order, as the
 * hook's ghost. Throws InboundError for what the sender must hear (a refusal of the content).
 */
export interface PostSubmitter {
  submit(hook: ActiveInboundHook, contents: readonly Record<string, unknown>[], opts: { deliveryKey: string | null }): Promise<Submitted>;
}

export interface DirectSubmitterDeps {
  /** Posts one content as the hook's ghost; returns the event id. */
  post(hook: ActiveInboundHook, content: Record<string, unknown>): Promise<string>;
  /** Requests already posted, by the sender's delivery id. */
  deliveries: Pick<InboundDeliveriesStore, "eventFor" | "remember">;
  log: Logger;
}

/**
 * Posts at once and answers with the event ids; when the homeserver does not take it, the sender
 * hears why (homeserver-answer.ts). A delivery id (Idempotency-Key, X-GitHub-Delivery) posts once:
 * a redelivery gets the first event id, and identical requests at the same time share one post.
 */
export class DirectSubmitter implements PostSubmitter {
  private readonly inFlight = new Map<string, Promise<Submitted>>();

  constructor(private readonly deps: DirectSubmitterDeps) {}

  async submit(hook: ActiveInboundHook, contents: readonly Record<string, unknown>[], opts: { deliveryKey: string | null }): Promise<Submitted> {
    const key = opts.deliveryKey;
    if (key === null) return this.postAll(hook, contents);
    const already = await this.deps.deliveries.eventFor(hook.id, key);
    if (already !== null) return { kind: "posted", eventIds: [already] };
    const slot = `${hook.id}\0${key}`;
    const running = this.inFlight.get(slot);
    if (running) return running;
    const posting = this.postAll(hook, contents).then(async (posted) => {
      if (posted.kind === "posted" && posted.eventIds[0] !== undefined) await this.deps.deliveries.remember(hook.id, key, posted.eventIds[0]);
      return posted;
    });
    this.inFlight.set(slot, posting);
    try {
      return await posting;
    } finally {
      this.inFlight.delete(slot);
    }
  }

  private async postAll(hook: ActiveInboundHook, contents: readonly Record<string, unknown>[]): Promise<Submitted> {
    const eventIds: string[] = [];
    for (const content of contents) {
      try {
        eventIds.push(await this.deps.post(hook, content));
      } catch (err) {
        const answer = homeserverAnswer(err);
        this.deps.log.warn({ err, hookId: hook.id, roomId: hook.roomId, status: answer.status, posted: eventIds.length }, "inbound message not accepted by the homeserver");
        throw answer;
      }
    }
    return { kind: "posted", eventIds };
  }
}

/** The receiver's answer for a submission of one message. */
export function postResultOf(submitted: Submitted): PostResult {
  return submitted.kind === "queued" ? submitted : { kind: "posted", eventId: submitted.eventIds[0] ?? "" };
}
