import type { Db } from "./database.js";

/**
 * The direct-message room the bot uses for each admin (where secrets are shown once). In the
 * SQLite file (DmRoomsTable) or in PostgreSQL (PgDmRoomsTable), whichever store.engine says.
 */
export interface DmRoomsStore {
  get(userId: string): Promise<string | null>;
  /**
   * Records `roomId` as the user's room unless the room recorded is no longer `previous` (null:
   * none): another process made one meanwhile. Returns the room recorded now, ours or that one.
   */
  claim(userId: string, previous: string | null, roomId: string): Promise<string>;
}

export class DmRoomsTable implements DmRoomsStore {
  constructor(private readonly db: Db) {}

  async get(userId: string): Promise<string | null> {
    const row = this.db.prepare<[string], { room_id: string }>("SELECT room_id FROM dm_rooms WHERE user_id = ?").get(userId);
    return row?.room_id ?? null;
  }

  async claim(userId: string, previous: string | null, roomId: string): Promise<string> {
    this.db.prepare("INSERT INTO dm_rooms (user_id, room_id) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id WHERE dm_rooms.room_id IS ?")
      .run(userId, roomId, previous);
    return (await this.get(userId)) ?? roomId;
  }
}
