import type { DeliveryQueue } from "../delivery/queue/queue.js";
import type { MatrixPort, RoomEvent } from "../matrix/port.js";
import type { RoomNotifier } from "../matrix/room-notifier.js";
import type { Logger } from "../observability/logger.js";
import { outboundEventJson } from "../outbound/match.js";
import type { BeforeSendJudge } from "./before-send-judge.js";
import { CheckedMessages } from "./checked-messages.js";

export interface BeforeSendFallbackDeps {
  judge: BeforeSendJudge;
  /** Messages the Synapse module judged already. */
  checked: CheckedMessages;
  matrix: Pick<MatrixPort, "redactEvent" | "sendNotice">;
  notifier: RoomNotifier;
  queue: Pick<DeliveryQueue, "storeTransaction">;
  /** The lanes that take the event once it is allowed: every hook of the room but its before-hooks. */
  lanesFor(event: RoomEvent): string[];
  log: Logger;
  /** Judgements at once; more wait their turn. */
  concurrency?: number;
}

/**
 * Before-hooks on a homeserver without the bridge's Synapse module: the message is already in the
 * room when the bridge hears of it, so it is judged then, and a rejected (or dropped) message is
 * redacted with the reason as soon as the verdict is in — within the hook's deadline, but after
 * others may have seen it. Every other hook of the room hears of the message only once it was
 * allowed (with a rewrite's content: the original is redacted and the new text posted by the bot).
 * Run as a follow-up of its transaction: stored before the homeserver's 200, run again after a crash.
 */
export class BeforeSendFallback {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly concurrency: number;

  constructor(private readonly deps: BeforeSendFallbackDeps) {
    this.concurrency = deps.concurrency ?? 32;
  }

  /** Whether a message of a transaction needs judging here (its room has before-hooks, and the module did not judge it). */
  needed(event: RoomEvent): boolean {
    return this.deps.judge.judges(event) && !this.deps.checked.has(CheckedMessages.key(event.room_id, event.sender, event.origin_server_ts));
  }

  /** Whether the room's before-hooks judge this event (whoever asked). */
  judges(event: RoomEvent): boolean {
    return this.deps.judge.judges(event);
  }

  /**
   * Judges the message and acts on the verdict; bounded concurrency, never rejects. `command`: the
   * message is a bot command, run (with a rewrite's content) once allowed instead of going to hooks.
   */
  async run(event: RoomEvent, command?: (allowed: RoomEvent) => Promise<void>): Promise<void> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      await this.judgeAndAct(event, command);
    } catch (err) {
      this.deps.log.error({ err, roomId: event.room_id, eventId: event.event_id }, "a before-hook's verdict could not be applied to a message");
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async judgeAndAct(event: RoomEvent, command: ((allowed: RoomEvent) => Promise<void>) | undefined): Promise<void> {
    const { judge, log } = this.deps;
    const { verdict, decidedBy } = await judge.judge(event, "fallback");
    const by = `before-hook "${decidedBy ?? "?"}"`;
    if (verdict.verdict === "reject" || verdict.verdict === "drop") {
      await this.redact(event, `${verdict.verdict === "drop" ? "Dropped" : "Rejected"} by ${by}: ${verdict.reason}`);
      return;
    }
    let delivered = event;
    if (verdict.verdict === "rewrite") {
      await this.redact(event, `Rewritten by ${by}`);
      const body = typeof verdict.content.body === "string" ? verdict.content.body : "";
      await this.deps.matrix.sendNotice(event.room_id, `${event.sender} (rewritten by ${by}): ${body}`);
      delivered = { ...event, content: verdict.content };
    }
    if (command) return command(delivered);
    const lanes = this.deps.lanesFor(delivered);
    if (lanes.length === 0) return;
    // Named by the event: run again after a crash, the same jobs are stored once.
    await this.deps.queue.storeTransaction({
      txnId: `before-send:${event.event_id}`,
      eventIds: [event.event_id],
      messages: [{ eventId: event.event_id, originTs: Number.isSafeInteger(event.origin_server_ts) ? event.origin_server_ts : 0, roomId: event.room_id, body: outboundEventJson(delivered), hookIds: lanes }],
      followUps: [],
    });
    log.debug({ roomId: event.room_id, eventId: event.event_id, lanes: lanes.length }, "message allowed by the before-hooks; queued for the room's other hooks");
  }

  private async redact(event: RoomEvent, reason: string): Promise<void> {
    try {
      await this.deps.matrix.redactEvent(event.room_id, event.event_id, reason);
      this.deps.log.info({ roomId: event.room_id, eventId: event.event_id, reason }, "message redacted on a before-hook's verdict (no Synapse module)");
    } catch (err) {
      this.deps.log.warn({ err, roomId: event.room_id, eventId: event.event_id }, "could not redact a message a before-hook rejected");
      this.deps.notifier.notify(event.room_id, "before-send-redact",
        `A before-hook rejected message ${event.event_id} from ${event.sender}, but I could not redact it (${(err as Error).message}). ` +
          "Give me the power to redact (the room's redact level), or load the bridge's Synapse module so rejected messages are never sent.");
    }
  }
}
