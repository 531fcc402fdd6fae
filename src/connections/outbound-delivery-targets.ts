import type { ClaimedJob } from "../delivery/queue/queue.js";
import type { DeliveryTarget, DeliveryTargets } from "../delivery/targets.js";
import type { RoomNotifier } from "../matrix/room-notifier.js";
import type { Logger } from "../observability/logger.js";
import type { OutboundHooksTable } from "../store/outbound-hooks-table.js";
import type { SigningKeysTable } from "../store/signing-keys-table.js";
import type { OutboundHookRegistry } from "./outbound-hook-registry.js";

/** The delivery worker's view of outbound hooks: live settings from room state, secrets and health from the store. */
export class OutboundDeliveryTargets implements DeliveryTargets {
  constructor(
    private readonly registry: OutboundHookRegistry,
    private readonly hooks: OutboundHooksTable,
    private readonly signingKeys: SigningKeysTable,
    private readonly notifier: RoomNotifier,
    private readonly log: Logger,
  ) {}

  resolve(hookId: string): DeliveryTarget | null {
    const hook = this.registry.byId(hookId);
    const token = hook ? this.hooks.token(hookId) : null;
    if (!hook || token === null) return null;
    return { hook, token, signingSecrets: this.signingKeys.active(hookId) };
  }

  suspendedHookIds(): ReadonlySet<string> {
    return this.hooks.suspendedIds();
  }

  strictlyOrderedHookIds(): ReadonlySet<string> {
    return this.registry.strictlyOrderedIds();
  }

  recordSuccess(hookId: string): void {
    this.hooks.markHealthy(hookId);
  }

  recordFailure(hookId: string, now: number): number {
    return this.hooks.markFailing(hookId, now);
  }

  disable(target: DeliveryTarget, reason: string): void {
    if (!this.hooks.suspend(target.hook.id, `disabled: ${reason}`)) return;
    this.log.warn({ hook: target.hook.name, roomId: target.hook.roomId, reason }, "outbound hook disabled");
    this.notifier.notify(target.hook.roomId, `disabled:${target.hook.id}`,
      `Outbound hook "${target.hook.name}" is disabled: ${reason}. Its pending deliveries wait; ` +
        `"!hooks outbound resume ${target.hook.name}" turns it back on.`, Date.now(), { force: true });
  }

  gaveUp(job: ClaimedJob, target: DeliveryTarget, reason: string): void {
    this.notifier.notify(job.roomId, `dead:${target.hook.id}`,
      `Outbound hook "${target.hook.name}" could not deliver event ${job.eventId}: ${reason}. It is kept as a dead letter; ` +
        `"!hooks outbound replay ${target.hook.name} --dead" sends dead letters again.`);
  }
}
