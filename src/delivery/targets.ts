import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { FailureCategory } from "./failure-category.js";
import type { ClaimedJob } from "./queue/queue.js";
import type { TlsMaterial } from "./tls-material.js";

/** Everything needed to send to a hook right now. */
export interface DeliveryTarget {
  hook: ActiveOutboundHook;
  /** The URL of the job's lane (a hook may have several; each is delivered on its own). */
  url: string;
  token: string;
  /** Standard Webhooks secrets, newest first; empty when the hook does not sign. */
  signingSecrets: string[];
  /** The hook's CA bundle and client certificate (uploaded, or its config profile); none: public CAs only. */
  tls?: TlsMaterial;
}

/** A failed attempt, as the worker reports it. */
export interface AttemptFailure {
  category: FailureCategory;
  /** The attempt's number for its delivery, 1-based. */
  attempt: number;
  /** Where it was sent (only its origin is ever shown). */
  url: string;
}

/**
 * The worker's view of the hooks: settings and secrets, which hooks to hold back, and where it
 * reports health. Implemented over the registry and the store in connections/.
 */
export interface DeliveryTargets {
  resolve(hookId: string): DeliveryTarget | null;
  /** Paused or disabled hooks: their jobs wait. */
  suspendedHookIds(): ReadonlySet<string>;
  strictlyOrderedHookIds(): ReadonlySet<string>;
  /** Whether this process knows the hook of a lane (a follower may not have heard of a new one yet). */
  knows(lane: string): boolean;
  /** The hook of a lane when it batches its deliveries (its `batch` setting), else null. */
  batchingHook(lane: string): ActiveOutboundHook | null;
  /** A delivery went through; tells the room when it had been told the hook was failing (in the background). */
  recordSuccess(hookId: string): void;
  /**
   * Counts the failure (by category) and tells the room once per episode of failures; resolves
   * with since when the hook has been failing without a success. Never rejects.
   */
  recordFailure(hookId: string, now: number, failure: AttemptFailure): Promise<number>;
  /** Stops deliveries to the hook and tells its room why. Never rejects. */
  disable(target: DeliveryTarget, reason: string): Promise<void>;
  /** A delivery was given up (dead letter): tell the room, without flooding it. */
  gaveUp(job: ClaimedJob, target: DeliveryTarget, reason: string): void;
  /** The receiver's answer could not be used (a chat reply that is not JSON, wrong types): count it, tell the room (once per period). */
  malformedReply(hookId: string, reason: string): void;
}
