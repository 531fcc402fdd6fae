import type pg from "pg";
import { pgQuery } from "./pg-query.js";
import type { DmRoomsStore } from "../dm-rooms-table.js";

/** The bot's DM room per user in PostgreSQL (store.engine postgres), shared by every process. */
export class PgDmRoomsTable implements DmRoomsStore {
  constructor(private readonly pool: pg.Pool) {}

  async get(userId: string): Promise<string | null> {
    const { rows } = await pgQuery<{ room_id: string }>(this.pool, "SELECT room_id FROM dm_rooms WHERE user_id = $1", [userId]);
    return rows[0]?.room_id ?? null;
  }

  async claim(userId: string, previous: string | null, roomId: string): Promise<string> {
    const { rows } = await pgQuery<{ room_id: string }>(
      this.pool,
      `INSERT INTO dm_rooms (user_id, room_id) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id WHERE dm_rooms.room_id IS NOT DISTINCT FROM $3 RETURNING room_id`,
      [userId, roomId, previous],
    );
    return rows[0]?.room_id ?? (await this.get(userId)) ?? roomId;
  }
}
