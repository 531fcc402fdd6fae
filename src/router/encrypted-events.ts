import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import type { EncryptedDevices } from "../matrix/encryption/encrypted-devices.js";
import { UndecryptableEvent } from "../matrix/encryption/encrypted-devices.js";
import type { TransactionCrypto } from "../matrix/encryption/transaction-crypto.js";
import type { RoomEvent } from "../matrix/port.js";
import { isRoomEvent } from "../matrix/transactions.js";
import type { UndecryptedEventsTable } from "../store/crypto-tables.js";

export interface EncryptedEventsDeps {
  devices: EncryptedDevices;
  table: UndecryptedEventsTable;
  /** Tells the room (a notice by the bot). */
  notice: (roomId: string, text: string) => Promise<unknown>;
  /** Routes events decrypted after their transaction (stored like a transaction of their own). */
  route: (txnId: string, events: RoomEvent[]) => Promise<void>;
  isBridgeUser: (userId: string) => boolean;
  metrics: BridgeMetrics;
  log: Logger;
}

/** Encrypted events of a transaction decrypted at the same time. */
const DECRYPTIONS_AT_ONCE = 16;

/** At most one such notice per room in this long. */
const NOTICE_INTERVAL_MS = 5 * 60_000;

/** Rooms and sessions already told about (one notice per session, not per message). */
const MAX_REMEMBERED_NOTICES = 10_000;

/**
 * Encrypted rooms for the router: a transaction's to-device events and key counts reach the
 * devices first, then its encrypted events are decrypted. One whose key has not arrived is kept
 * in the store (before the transaction is acknowledged) and routed once the key comes; the room
 * is told once per session, and the metric counts each.
 */
export class EncryptedEvents {
  private readonly told = new Set<string>();
  /** When each room was last told (Maps: room ids come from outside). */
  private readonly lastNotice = new Map<string, number>();
  private retrying: Promise<void> = Promise.resolve();

  constructor(private readonly deps: EncryptedEventsDeps) {}

  /** The transaction's events with encrypted ones decrypted; those that cannot be yet are kept aside. */
  async decryptTransaction(events: readonly RoomEvent[], crypto: TransactionCrypto | null): Promise<RoomEvent[]> {
    if (crypto) await this.deps.devices.receive(crypto);
    // Each decryption reads the crypto store (milliseconds on indexeddbshim, mostly waiting on
    // it): a few at once, then in the transaction's order again. State first, in order.
    const work: (RoomEvent | Promise<RoomEvent | null> | null)[] = [];
    let running: Promise<unknown>[] = [];
    for (const event of events) {
      if (event.state_key !== undefined) await this.deps.devices.observe(event).catch((err: unknown) => this.deps.log.warn({ err, roomId: event.room_id }, "could not note a room's encryption state"));
      if (event.type !== "m.room.encrypted" || event.state_key !== undefined) {
        work.push(event);
        continue;
      }
      // The bridge's own messages are never for the hooks; no key needs to be waited for.
      if (this.deps.isBridgeUser(event.sender)) continue;
      if (running.length >= DECRYPTIONS_AT_ONCE) {
        await Promise.all(running);
        running = [];
      }
      const clear = this.tryDecrypt(event);
      running.push(clear.catch(() => undefined));
      work.push(clear);
    }
    const out: RoomEvent[] = [];
    for (const item of work) {
      const event = await item;
      if (event) out.push(event);
    }
    return out;
  }

  private async tryDecrypt(event: RoomEvent): Promise<RoomEvent | null> {
    const { metrics, table, log } = this.deps;
    try {
      const clear = await this.deps.devices.decrypt(event);
      metrics.encryptedEvents.inc({ result: "decrypted" });
      return clear;
    } catch (err) {
      if (!(err instanceof UndecryptableEvent)) throw err;
      table.add({ eventId: event.event_id, roomId: event.room_id, sessionId: err.sessionId, event: JSON.stringify(event), reason: err.reason, receivedAt: Date.now() });
      metrics.encryptedEvents.inc({ result: "waiting" });
      log.warn({ roomId: event.room_id, eventId: event.event_id, sender: event.sender, reason: err.reason }, "could not decrypt an event; kept until its key arrives");
      this.tellOnce(event, err.sessionId, err.reason);
      return null;
    }
  }

  private tellOnce(event: RoomEvent, sessionId: string, reason: string): void {
    const key = `${event.room_id}\0${sessionId}`;
    if (this.told.has(key)) return;
    // One notice per room per few minutes at most, whatever the sessions: made-up encrypted
    // events (each naming a new session) must not make the bot talk for every one.
    const now = Date.now();
    if ((this.lastNotice.get(event.room_id) ?? 0) > now - NOTICE_INTERVAL_MS) return;
    if (this.told.size >= MAX_REMEMBERED_NOTICES) this.told.clear();
    if (this.lastNotice.size >= MAX_REMEMBERED_NOTICES) this.lastNotice.clear();
    this.told.add(key);
    this.lastNotice.set(event.room_id, now);
    const withheld = /\(withheld: (.+)\)$/.exec(reason)?.[1];
    const why = withheld ? `the sender's client withheld its room key from my device ("${withheld}")` : "its room key has not reached my device yet";
    const text = `I could not decrypt a message from ${event.sender} (${event.event_id}): ${why}. ` +
      "I keep it, and the hooks get it as soon as the key arrives; if it never does, ask the sender's client to share its keys with unverified devices.";
    void this.deps.notice(event.room_id, text).catch((err: unknown) => this.deps.log.warn({ err, roomId: event.room_id }, "could not send a notice"));
  }

  /** A room key arrived: the events waiting for it are decrypted and routed (in the background, in order). */
  keyArrived(sessionId: string): void {
    this.retrying = this.retrying.then(() => this.retry(this.deps.table.forSession(sessionId))).catch((err: unknown) => this.deps.log.error({ err }, "could not route events decrypted late"));
  }

  /** Tries every kept event again (at start: keys may have come while they were being kept). */
  retryAll(limit = 10_000): Promise<void> {
    this.retrying = this.retrying.then(() => this.retry(this.deps.table.all(limit))).catch((err: unknown) => this.deps.log.error({ err }, "could not route events decrypted late"));
    return this.retrying;
  }

  /** Settles when the retries queued so far are done. */
  idle(): Promise<void> {
    return this.retrying;
  }

  private async retry(kept: readonly { eventId: string; event: string }[]): Promise<void> {
    for (const row of kept) {
      let event: unknown;
      try {
        event = JSON.parse(row.event);
      } catch {
        event = null;
      }
      if (!isRoomEvent(event)) {
        this.deps.log.error({ eventId: row.eventId }, "a kept encrypted event is not a room event; dropped");
        this.deps.table.remove(row.eventId);
        continue;
      }
      let clear: RoomEvent;
      try {
        clear = await this.deps.devices.decrypt(event);
      } catch (err) {
        if (err instanceof UndecryptableEvent) continue; // its key is not the one that came
        throw err;
      }
      try {
        // Its own transaction id: a crash after this stores it once, as any transaction.
        await this.deps.route(`decrypted-later:${row.eventId}`, [clear]);
      } catch (err) {
        // Kept: tried again with the next key or start; the others go on.
        this.deps.log.error({ err, eventId: row.eventId }, "could not route an event decrypted late; kept, tried again later");
        continue;
      }
      this.deps.table.remove(row.eventId);
      this.deps.metrics.encryptedEvents.inc({ result: "decrypted-later" });
      this.deps.log.info({ roomId: clear.room_id, eventId: clear.event_id }, "decrypted an event once its key arrived");
    }
  }

  /** Forgets kept events older than `cutoff` (their key never came), saying so. */
  expire(cutoff: number): void {
    const expired = this.deps.table.expire(cutoff);
    for (const e of expired) {
      this.deps.metrics.encryptedEvents.inc({ result: "expired" });
      this.deps.log.warn({ roomId: e.roomId, eventId: e.eventId, reason: e.reason }, "gave up on an encrypted event: its key never arrived");
    }
  }
}
