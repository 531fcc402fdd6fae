import type { Logger } from "../observability/logger.js";
import { CoalescingSender } from "./coalescing-sender.js";
import type { MatrixPort } from "./port.js";

/**
 * Operational notices in a room (deliveries given up, hooks disabled), at most one per topic in
 * each period, so a failing endpoint cannot flood the room. Notices made while one is on its way to
 * the room go together in the next message (CoalescingSender).
 */
export class RoomNotifier {
  private readonly lastSent = new Map<string, number>();
  private readonly outbox: CoalescingSender<string>;

  constructor(
    matrix: MatrixPort,
    private readonly log: Logger,
    private readonly periodMs = 10 * 60_000,
  ) {
    this.outbox = new CoalescingSender((roomId, text) => matrix.sendNotice(roomId, text));
  }

  /** Whether `notify` would send a notice of this topic now (none sent within the period). */
  wouldSend(roomId: string, topic: string, now = Date.now()): boolean {
    const last = this.lastSent.get(topicKey(roomId, topic));
    return last === undefined || now - last >= this.periodMs;
  }

  /** `force` sends even within the period: for rare state changes the room must hear about. Returns whether it was sent. */
  notify(roomId: string, topic: string, text: string, now = Date.now(), opts: { force?: boolean } = {}): boolean {
    if (!opts.force && !this.wouldSend(roomId, topic, now)) {
      this.log.debug({ roomId, topic }, "notice suppressed (sent one recently)");
      return false;
    }
    this.lastSent.set(topicKey(roomId, topic), now);
    this.outbox.enqueue(roomId, text).catch((err: unknown) => this.log.warn({ err, roomId }, "could not send a notice"));
    return true;
  }
}

const topicKey = (roomId: string, topic: string): string => `${roomId}\0${topic}`;
