import type pg from "pg";
import type { InboundDeliveriesStore } from "../inbound-deliveries-table.js";
import { pgQuery } from "./pg-query.js";
import { pgText } from "./pg-store.js";

/** The inbound deliveries already posted, in PostgreSQL (delivery ids come from headers: pgText, the same way when read). */
export class PgInboundDeliveriesTable implements InboundDeliveriesStore {
  constructor(private readonly pool: pg.Pool) {}

  async eventFor(hookId: string, key: string): Promise<string | null> {
    const { rows } = await pgQuery<{ event_id: string }>(this.pool, "SELECT event_id FROM inbound_deliveries WHERE hook_id = $1 AND delivery_key = $2", [hookId, pgText(key)]);
    return rows[0]?.event_id ?? null;
  }

  async remember(hookId: string, key: string, eventId: string, now = Date.now()): Promise<void> {
    await pgQuery(this.pool, "INSERT INTO inbound_deliveries (hook_id, delivery_key, event_id, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [hookId, pgText(key), eventId, now]);
  }

  async prune(olderThan: number): Promise<number> {
    return (await pgQuery(this.pool, "DELETE FROM inbound_deliveries WHERE at < $1", [olderThan])).rowCount ?? 0;
  }
}
