import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { ClaimedJob } from "./queue/queue.js";

/** Everything needed to send to a hook right now. */
export interface DeliveryTarget {
  hook: ActiveOutboundHook;
  /** The URL of the job's lane (a hook may have several; each is delivered on its own). */
  url: string;
  token: string;
  /** Standard Webhooks secrets, newest first; empty when the hook does not sign. */
  signingSecrets: string[];
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
  recordSuccess(hookId: string): void;
  /** Returns since when the hook has been failing without a success. */
  recordFailure(hookId: string, now: number): number;
  /** Stops deliveries to the hook and tells its room why. */
  disable(target: DeliveryTarget, reason: string): void;
  /** A delivery was given up (dead letter): tell the room, without flooding it. */
  gaveUp(job: ClaimedJob, target: DeliveryTarget, reason: string): void;
}
