import { unparseableResponse, withoutUrlPaths } from "../delivery/failure-category.js";
import { originOf } from "../delivery/failure-episode.js";
import type { ClaimedJob } from "../delivery/queue/queue.js";
import type { AttemptFailure, DeliveryTarget, DeliveryTargets } from "../delivery/targets.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { RoomNotifier } from "../matrix/room-notifier.js";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import type { OutboundHooksStore } from "../store/outbound-hooks-table.js";
import type { SigningKeysStore } from "../store/signing-keys-table.js";
import { StoreUnavailableError } from "../store/store-unavailable.js";
import { FailureNotices, type FailureNoticeSettings } from "./failure-notices.js";
import { hookIdOfLane, laneIds, laneUrl } from "./hook-lanes.js";
import type { ActiveOutboundHook, OutboundHookRegistry } from "./outbound-hook-registry.js";
import { KIND_LABEL } from "./outbound-hooks.js";
import type { HookTls } from "./hook-tls.js";
import type { LastFailures } from "./last-failures.js";
import { KeyedSerializer } from "../store/keyed-serializer.js";

const NO_LANES: ReadonlySet<string> = new Set();
const commandWord = (hook: ActiveOutboundHook) => (hook.kind === "bot" ? "bot" : "outbound");

export interface OutboundDeliveryTargetsOptions {
  metrics: BridgeMetrics;
  /** For failure notices to a hook's owner; null: room notices only. */
  messenger: DirectMessenger | null;
  failureNotices: FailureNoticeSettings;
  /** Hooks' CA bundles and client certificates. */
  tls: HookTls;
  /** Where each hook's last failure is kept for status. */
  lastFailures: LastFailures;
}

/** The delivery worker's view of outbound hooks: live settings from room state, secrets and health from the store. */
export class OutboundDeliveryTargets implements DeliveryTargets {
  private readonly notices: FailureNotices;
  private readonly metrics: BridgeMetrics;
  private readonly tls: HookTls;
  private readonly lastFailures: LastFailures;
  /** Each hook's health steps (store reads and writes, notices) run one at a time, in the order of its attempts. */
  private readonly healthSteps = new KeyedSerializer();

  constructor(
    private readonly registry: OutboundHookRegistry,
    private readonly hooks: OutboundHooksStore,
    private readonly signingKeys: SigningKeysStore,
    private readonly notifier: RoomNotifier,
    private readonly log: Logger,
    opts: OutboundDeliveryTargetsOptions,
  ) {
    this.metrics = opts.metrics;
    this.tls = opts.tls;
    this.lastFailures = opts.lastFailures;
    this.notices = new FailureNotices(registry, hooks, notifier, opts.messenger, opts.failureNotices, log);
  }

  /** `lane`: a hook id, or the lane of one of its other URLs (see hook-lanes.ts). */
  resolve(lane: string): DeliveryTarget | null {
    const hook = this.registry.byLane(lane);
    const url = hook ? laneUrl(hook, lane) : null;
    const token = hook && url ? this.hooks.token(hook.id) : null;
    if (!hook || !url || token === null) return null;
    const tls = this.tls.materialFor(hook);
    return { hook, url, token, signingSecrets: this.signingKeys.active(hook.id), ...(tls ? { tls } : {}) };
  }

  /** Every lane of each paused or disabled hook. */
  suspendedHookIds(): ReadonlySet<string> {
    const suspended = this.hooks.suspendedIds();
    // Asked on every pump of the worker: the usual answer costs nothing.
    if (suspended.size === 0) return NO_LANES;
    const lanes = new Set<string>();
    for (const hookId of suspended) {
      const hook = this.registry.byId(hookId);
      if (hook) for (const lane of laneIds(hook)) lanes.add(lane);
      else lanes.add(hookId);
    }
    return lanes;
  }

  knows(lane: string): boolean {
    return this.registry.byLane(lane) !== undefined;
  }

  strictlyOrderedHookIds(): ReadonlySet<string> {
    return this.registry.strictlyOrderedIds();
  }

  batchingHook(lane: string): ActiveOutboundHook | null {
    const hook = this.registry.byLane(lane);
    return hook?.batch ? hook : null;
  }

  recordSuccess(lane: string): void {
    const hookId = hookIdOfLane(lane);
    void this.healthStep(hookId, null, async () => {
      const failingSince = await this.hooks.markHealthy(hookId);
      await this.notices.succeeded(hookId, failingSince, Date.now());
      return null;
    });
  }

  recordFailure(lane: string, now: number, failure: AttemptFailure): Promise<number> {
    const hookId = hookIdOfLane(lane);
    this.metrics.deliveryFailures.inc({ category: failure.category.id });
    this.lastFailures.record(hookId, failure.category, now);
    return this.healthStep(hookId, now, async () => {
      const failingSince = await this.hooks.markFailing(hookId, now);
      await this.notices.failed(hookId, failure, now);
      return failingSince;
    });
  }

  /** Resolves once the health steps of the attempts recorded so far have run (the bridge stops). */
  idle(): Promise<void> {
    return this.healthSteps.idle();
  }

  /**
   * Runs one of the hook's health steps after its earlier ones. A store that cannot be used is
   * logged, and the step resolves with `fallback`: the delivery itself is recorded by the queue,
   * and the next attempt's step tries the store again.
   */
  private healthStep<T>(hookId: string, fallback: T, step: () => Promise<T>): Promise<T> {
    return this.healthSteps.run(hookId, step).catch((err: unknown) => {
      this.log.warn({ hookId, ...(err instanceof StoreUnavailableError ? { err: err.logged() } : { err }) }, "could not record the hook's health; its next attempt records it again");
      return fallback;
    });
  }

  async disable(target: DeliveryTarget, reason: string): Promise<void> {
    let suspended: boolean;
    try {
      suspended = await this.hooks.suspend(target.hook.id, `disabled: ${reason}`);
    } catch (err) {
      this.log.warn({ hook: target.hook.name, roomId: target.hook.roomId, reason, err: err instanceof StoreUnavailableError ? err.logged() : err }, "could not disable the outbound hook; it is tried again at its next failed attempt");
      return;
    }
    if (!suspended) return;
    this.log.warn({ hook: target.hook.name, roomId: target.hook.roomId, reason }, "outbound hook disabled");
    this.notifier.notify(target.hook.roomId, `disabled:${target.hook.id}`,
      `${KIND_LABEL[target.hook.kind]} "${target.hook.name}" is disabled: ${reason}. Its pending deliveries wait; ` +
        `"!hooks ${commandWord(target.hook)} resume ${target.hook.name}" turns it back on.`, Date.now(), { force: true });
  }

  gaveUp(job: ClaimedJob, target: DeliveryTarget, reason: string): void {
    // The last attempt was just classified (recordFailure comes first): the notice names its category.
    const category = this.lastFailures.get(target.hook.id)?.category;
    const why = category ? `${category.summary} [${category.id}]; ${withoutUrlPaths(reason)}` : withoutUrlPaths(reason);
    this.notifier.notify(job.roomId, `dead:${target.hook.id}`,
      `${KIND_LABEL[target.hook.kind]} "${target.hook.name}" could not deliver event ${job.eventId}: ${why}. It is kept as a dead letter; ` +
        `"!hooks ${commandWord(target.hook)} replay ${target.hook.name} --dead" sends dead letters again.`);
  }

  malformedReply(hookId: string, reason: string): void {
    this.metrics.malformedReplies.inc();
    this.metrics.deliveryFailures.inc({ category: "unparseable-response" });
    const hook = this.registry.byId(hookId);
    const category = unparseableResponse(reason);
    this.lastFailures.record(hookId, category, Date.now());
    this.log.warn({ hook: hook?.name, roomId: hook?.roomId, reason: category.description }, "a receiver's reply could not be used; nothing was posted");
    if (!hook) return;
    this.notifier.notify(hook.roomId, `malformed:${hookId}`,
      `${KIND_LABEL[hook.kind]} "${hook.name}" got a reply it could not use from ${originOf(hook.url)} (${category.summary}): ${category.description} ` +
        "Nothing was posted for it; the delivery counts as delivered.");
  }
}
