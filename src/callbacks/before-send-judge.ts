import type { ActiveOutboundHook, OutboundHookRegistry } from "../connections/outbound-hook-registry.js";
import type { RoomEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import { ALLOW, combineVerdicts, type BeforeSendVerdict } from "./before-send-verdict.js";

/** Asks one before-hook about a message; resolves with its verdict (its failure policy applied), never rejects. */
export type AskBeforeHook = (hook: ActiveOutboundHook, event: RoomEvent) => Promise<BeforeSendVerdict>;

/** What the judge needs to know about events: the before-send kinds, and the bridge's own users. */
export interface BeforeSendEvents {
  /** The events a before-hook judges (messages, stickers). */
  isJudged(event: RoomEvent): boolean;
  isBridgeUser(userId: string): boolean;
}

/**
 * Decides about a message of a room with before-hooks (format tencent, phase before): each is
 * asked at once, in parallel, each within its own deadline, and their verdicts combined. Used by
 * the Synapse module's requests (before the message exists) and by the fallback (after).
 */
export class BeforeSendJudge {
  constructor(
    private readonly registry: OutboundHookRegistry,
    private readonly ask: AskBeforeHook,
    private readonly events: BeforeSendEvents,
    private readonly log: Logger,
    private readonly metrics: Pick<BridgeMetrics, "beforeSendVerdicts"> | null = null,
  ) {}

  /** The room's before-hooks, by name. */
  beforeHooks(roomId: string): ActiveOutboundHook[] {
    return this.registry.forRoom(roomId).filter((h) => h.kind === "hook" && h.callback?.phase === "before");
  }

  /** Whether this event is one the room's before-hooks judge. */
  judges(event: RoomEvent): boolean {
    return this.events.isJudged(event) && !this.events.isBridgeUser(event.sender) && this.beforeHooks(event.room_id).length > 0;
  }

  /** The room's verdict, and the hook that decided it (null: allowed by all, or none to ask). */
  async judge(event: RoomEvent, path: "module" | "fallback"): Promise<{ verdict: BeforeSendVerdict; decidedBy: string | null }> {
    if (!this.judges(event)) return { verdict: ALLOW, decidedBy: null };
    const hooks = this.beforeHooks(event.room_id);
    const verdicts = await Promise.all(hooks.map(async (hook) => ({ hookName: hook.name, verdict: await this.ask(hook, event) })));
    const { verdict, decidedBy, ignoredRewrites } = combineVerdicts(verdicts);
    this.metrics?.beforeSendVerdicts.inc({ verdict: verdict.verdict, path });
    const fields = { roomId: event.room_id, eventId: event.event_id, verdict: verdict.verdict, decidedBy, path };
    if (ignoredRewrites.length > 0) this.log.warn({ ...fields, ignoredRewrites }, "several before-hooks rewrote one message; only the first one's rewrite is applied");
    if (verdict.verdict !== "allow") this.log.info(fields, "a before-hook decided about a message");
    return { verdict, decidedBy };
  }
}
