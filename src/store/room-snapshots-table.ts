import type { StateEvent } from "../matrix/port.js";
import type { Db } from "./database.js";

/**
 * Each joined room's hook-relevant state as the bridge last applied it (room-snapshot.ts says
 * which): the next start serves the rooms from here instead of one homeserver request per room.
 */
export class RoomSnapshotsTable {
  constructor(private readonly db: Db) {}

  /** The ids of the saved rooms (their state is read one room at a time: a large homeserver's would not fit at once). */
  roomIds(): Set<string> {
    return new Set(this.db.prepare<[], { room_id: string }>("SELECT room_id FROM room_snapshots").pluck().all() as unknown as string[]);
  }

  /** The room's saved state as parsed JSON (the caller checks its shape), or null when none is saved; a row that is not JSON is dropped. */
  get(roomId: string): unknown {
    const row = this.db.prepare<[string], { state: string }>("SELECT state FROM room_snapshots WHERE room_id = ?").get(roomId);
    if (!row) return null;
    const state = parseState(row.state);
    if (!state) this.remove(roomId);
    return state;
  }

  save(roomId: string, state: readonly StateEvent[], now = Date.now()): void {
    this.db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at")
      .run(roomId, JSON.stringify(state), now);
  }

  remove(roomId: string): void {
    this.db.prepare("DELETE FROM room_snapshots WHERE room_id = ?").run(roomId);
  }
}

function parseState(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
