import type { StateEvent } from "../matrix/port.js";
import type { Db } from "./database.js";

/**
 * Each joined room's hook-relevant state as the bridge last applied it (room-snapshot.ts says
 * which): the next start serves the rooms from here instead of one homeserver request per room.
 */
export class RoomSnapshotsTable {
  constructor(private readonly db: Db) {}

  /** Every saved room; a row that no longer parses is dropped (that room is read from the homeserver). */
  all(): Map<string, StateEvent[]> {
    const out = new Map<string, StateEvent[]>();
    for (const row of this.db.prepare<[], { room_id: string; state: string }>("SELECT room_id, state FROM room_snapshots").all()) {
      const state = parseState(row.state);
      if (state) out.set(row.room_id, state);
      else this.remove(row.room_id);
    }
    return out;
  }

  get(roomId: string): StateEvent[] | null {
    const row = this.db.prepare<[string], { state: string }>("SELECT state FROM room_snapshots WHERE room_id = ?").get(roomId);
    return row ? parseState(row.state) : null;
  }

  save(roomId: string, state: readonly StateEvent[], now = Date.now()): void {
    this.db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at")
      .run(roomId, JSON.stringify(state), now);
  }

  remove(roomId: string): void {
    this.db.prepare("DELETE FROM room_snapshots WHERE room_id = ?").run(roomId);
  }
}

function parseState(text: string): StateEvent[] | null {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as StateEvent[]) : null;
  } catch {
    return null;
  }
}
