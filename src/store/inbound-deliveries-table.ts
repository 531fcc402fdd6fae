import type { Db } from "./database.js";

/** Inbound requests already posted, so a sender's redelivery is answered without posting twice. */
export class InboundDeliveriesTable {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      get: db.prepare<[string, string], { event_id: string }>("SELECT event_id FROM inbound_deliveries WHERE hook_id = ? AND delivery_key = ?"),
      put: db.prepare("INSERT OR IGNORE INTO inbound_deliveries (hook_id, delivery_key, event_id, at) VALUES (?, ?, ?, ?)"),
      prune: db.prepare("DELETE FROM inbound_deliveries WHERE at < ?"),
    };
  }

  eventFor(hookId: string, key: string): string | null {
    return this.q.get.get(hookId, key)?.event_id ?? null;
  }

  remember(hookId: string, key: string, eventId: string, now = Date.now()): void {
    this.q.put.run(hookId, key, eventId, now);
  }

  prune(olderThan: number): number {
    return this.q.prune.run(olderThan).changes;
  }
}
