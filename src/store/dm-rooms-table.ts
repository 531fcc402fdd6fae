import type { Db } from "./database.js";

/** The direct-message room the bot uses for each admin (where secrets are shown once). */
export class DmRoomsTable {
  constructor(private readonly db: Db) {}

  get(userId: string): string | null {
    const row = this.db.prepare<[string], { room_id: string }>("SELECT room_id FROM dm_rooms WHERE user_id = ?").get(userId);
    return row?.room_id ?? null;
  }

  set(userId: string, roomId: string): void {
    this.db.prepare("INSERT INTO dm_rooms (user_id, room_id) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id").run(userId, roomId);
  }

  forget(userId: string): void {
    this.db.prepare("DELETE FROM dm_rooms WHERE user_id = ?").run(userId);
  }
}
