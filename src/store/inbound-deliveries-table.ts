import type { Db } from "./database.js";

/**
 * Inbound requests already posted by DirectSubmitter (the queued one keeps delivery ids on its posts), so a sender's
 * redelivery is answered without posting twice: in the SQLite file, or in PostgreSQL.
 */
export interface InboundDeliveriesStore {
  /** The event the hook posted for this delivery id, or null. */
  eventFor(hookId: string, key: string): Promise<string | null>;
  /** Records the delivery's event; a delivery id already recorded keeps its first event. */
  remember(hookId: string, key: string, eventId: string, now?: number): Promise<void>;
  /** Forgets the deliveries recorded before the cutoff; returns how many. */
  prune(olderThan: number): Promise<number>;
}

/** The deliveries in the SQLite file. */
export class InboundDeliveriesTable implements InboundDeliveriesStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      get: db.prepare<[string, string], { event_id: string }>("SELECT event_id FROM inbound_deliveries WHERE hook_id = ? AND delivery_key = ?"),
      put: db.prepare("INSERT OR IGNORE INTO inbound_deliveries (hook_id, delivery_key, event_id, at) VALUES (?, ?, ?, ?)"),
      prune: db.prepare("DELETE FROM inbound_deliveries WHERE at < ?"),
    };
  }

  async eventFor(hookId: string, key: string): Promise<string | null> {
    return this.q.get.get(hookId, key)?.event_id ?? null;
  }

  async remember(hookId: string, key: string, eventId: string, now = Date.now()): Promise<void> {
    this.q.put.run(hookId, key, eventId, now);
  }

  async prune(olderThan: number): Promise<number> {
    return this.q.prune.run(olderThan).changes;
  }
}
