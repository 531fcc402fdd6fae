import type pg from "pg";
import type { StateEvent } from "../../matrix/port.js";
import { parseSnapshotText, type RoomSnapshotsStore, type SnapshotChange } from "../room-snapshots-table.js";
import { pgQuery } from "./pg-query.js";
import { pgText } from "./pg-store.js";
import { pgTransaction } from "./pg-transaction.js";

// Room ids come from Matrix; state is JSON.stringify'd (a U+0000 is escaped), so only ids need pgText.

const UPSERT = `INSERT INTO room_snapshots (room_id, state, saved_at) VALUES ($1, $2, $3)
  ON CONFLICT (room_id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`;

/**
 * The rooms' saved state in PostgreSQL, shared by the processes on every host. Several
 * appservice processes may apply live state to one room: `update` locks the room's row while it
 * reads and writes it, so neither change is lost.
 */
export class PgRoomSnapshotsTable implements RoomSnapshotsStore {
  constructor(private readonly pool: pg.Pool) {}

  async roomIds(): Promise<Set<string>> {
    const { rows } = await pgQuery<{ room_id: string }>(this.pool, "SELECT room_id FROM room_snapshots");
    return new Set(rows.map((r) => r.room_id));
  }

  async get(roomId: string): Promise<unknown> {
    return (await this.getMany([roomId])).get(roomId) ?? null;
  }

  async getMany(roomIds: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (roomIds.length === 0) return out;
    const { rows } = await pgQuery<{ room_id: string; state: string }>(this.pool, "SELECT room_id, state FROM room_snapshots WHERE room_id = ANY($1::text[])", [roomIds.map((id) => pgText(id))]);
    for (const row of rows) {
      const state = parseSnapshotText(row.state);
      // Only the row as read goes: one saved meanwhile by another process stays.
      if (state === null) await pgQuery(this.pool, "DELETE FROM room_snapshots WHERE room_id = $1 AND state = $2", [row.room_id, row.state]);
      else out.set(row.room_id, state);
    }
    return out;
  }

  async save(roomId: string, state: readonly StateEvent[], now = Date.now()): Promise<void> {
    await pgQuery(this.pool, UPSERT, [pgText(roomId), JSON.stringify(state), now]);
  }

  async update(roomId: string, change: SnapshotChange, now = Date.now()): Promise<void> {
    const id = pgText(roomId);
    await pgTransaction(this.pool, async (query) => {
      const { rows } = await query<{ state: string }>("SELECT state FROM room_snapshots WHERE room_id = $1 FOR UPDATE", [id]);
      const next = change(rows[0] ? parseSnapshotText(rows[0].state) : null);
      if (next !== null) await query(UPSERT, [id, JSON.stringify(next), now]);
      // No row was read, so none is deleted: one another process saved meanwhile is not ours to drop.
      else if (rows[0]) await query("DELETE FROM room_snapshots WHERE room_id = $1", [id]);
    });
  }

  async remove(roomId: string): Promise<void> {
    await pgQuery(this.pool, "DELETE FROM room_snapshots WHERE room_id = $1", [pgText(roomId)]);
  }
}
