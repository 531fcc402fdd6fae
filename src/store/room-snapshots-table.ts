import type { StateEvent } from "../matrix/port.js";
import type { Db } from "./database.js";

/**
 * What `update` makes of a room's saved state (parsed JSON, or null when none is saved or it is
 * not JSON): the state to save, or null for no saved state.
 */
export type SnapshotChange = (saved: unknown) => readonly StateEvent[] | null;

/**
 * Each joined room's hook-relevant state as the bridge last applied it (room-snapshot.ts says
 * which): the next start serves the rooms from here instead of one homeserver request per room.
 * In the SQLite file, or in PostgreSQL. Values are parsed JSON; the caller checks their shape.
 */
export interface RoomSnapshotsStore {
  /** The ids of the saved rooms (their state is read a few rooms at a time: a large homeserver's would not fit at once). */
  roomIds(): Promise<Set<string>>;
  /** The room's saved state, or null when none is saved; a row that is not JSON is dropped. */
  get(roomId: string): Promise<unknown>;
  /** The saved states of these rooms (those with none are left out), in one read; rows that are not JSON are dropped. */
  getMany(roomIds: readonly string[]): Promise<Map<string, unknown>>;
  save(roomId: string, state: readonly StateEvent[], now?: number): Promise<void>;
  /** Reads, changes and writes the room's saved state as one step: no other process's change in between is lost. */
  update(roomId: string, change: SnapshotChange, now?: number): Promise<void>;
  remove(roomId: string): Promise<void>;
}

/** The snapshots in the SQLite file (synchronous underneath: a read and the write after it never interleave). */
export class RoomSnapshotsTable implements RoomSnapshotsStore {
  constructor(private readonly db: Db) {}

  async roomIds(): Promise<Set<string>> {
    return new Set(this.db.prepare<[], { room_id: string }>("SELECT room_id FROM room_snapshots").pluck().all() as unknown as string[]);
  }

  async get(roomId: string): Promise<unknown> {
    return this.getNow(roomId);
  }

  async getMany(roomIds: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const roomId of roomIds) {
      const state = this.getNow(roomId);
      if (state !== null) out.set(roomId, state);
    }
    return out;
  }

  async save(roomId: string, state: readonly StateEvent[], now = Date.now()): Promise<void> {
    this.saveNow(roomId, state, now);
  }

  async update(roomId: string, change: SnapshotChange, now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      const next = change(this.getNow(roomId));
      if (next === null) this.removeNow(roomId);
      else this.saveNow(roomId, next, now);
    }).immediate();
  }

  async remove(roomId: string): Promise<void> {
    this.removeNow(roomId);
  }

  private getNow(roomId: string): unknown {
    const row = this.db.prepare<[string], { state: string }>("SELECT state FROM room_snapshots WHERE room_id = ?").get(roomId);
    if (!row) return null;
    const state = parseSnapshotText(row.state);
    if (state === null) this.removeNow(roomId);
    return state;
  }

  private saveNow(roomId: string, state: readonly StateEvent[], now: number): void {
    this.db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at")
      .run(roomId, JSON.stringify(state), now);
  }

  private removeNow(roomId: string): void {
    this.db.prepare("DELETE FROM room_snapshots WHERE room_id = ?").run(roomId);
  }
}

/** A saved row's state as parsed JSON, or null when it is not JSON. */
export function parseSnapshotText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
