import type { Db } from "./database.js";

/** A hook state event as this bridge accepted it. */
export interface AcceptedHookState {
  eventType: string;
  stateKey: string;
  eventId: string | null;
  content: Record<string, unknown>;
}

/**
 * The hook state events the appservice process accepted, per room, with a version per room that
 * grows with every change. Processes that follow another's rooms (bridge.role) build their hooks
 * from here: what was accepted, not the room's state judged again (which may hold an update the
 * appservice ignored, and keeps the previous hook for). In the SQLite file, or in PostgreSQL.
 */
export interface AcceptedHooksStore {
  /** Records an accepted state event (a no-op when it is the one recorded already). */
  accept(roomId: string, eventType: string, stateKey: string, eventId: string | null, content: Record<string, unknown>): Promise<void>;
  /** The hook is gone (removed, refused for good). */
  forget(roomId: string, eventType: string, stateKey: string): Promise<void>;
  /** The bot left the room: none of its hooks are served. */
  forgetRoom(roomId: string): Promise<void>;
  /** The room's accepted hook state; a row whose content is not a JSON object is left out. */
  forRoom(roomId: string): Promise<AcceptedHookState[]>;
  /** The room's version (0: never had accepted hooks); compared to skip rebuilding a room that did not change. */
  version(roomId: string): Promise<number>;
  /** The versions of these rooms in one read; a room that never had accepted hooks is left out (version 0). */
  versions(roomIds: readonly string[]): Promise<Map<string, number>>;
  /** Every room with accepted hooks. */
  rooms(): Promise<string[]>;
}

/** Told after a room's rows changed and the change committed, with the room's new version (the other processes read them again). */
export type AcceptedRoomChanged = (roomId: string, version: number) => void;

/** A row as both engines return it. */
export interface AcceptedHookRow {
  event_type: string;
  state_key: string;
  event_id: string | null;
  content: string;
}

/** The rows as accepted state; one whose content is not a JSON object is left out. */
export function toAcceptedStates(rows: readonly AcceptedHookRow[]): AcceptedHookState[] {
  const out: AcceptedHookState[] = [];
  for (const row of rows) {
    let content: unknown;
    try {
      content = JSON.parse(row.content);
    } catch {
      continue;
    }
    if (content !== null && typeof content === "object" && !Array.isArray(content)) {
      out.push({ eventType: row.event_type, stateKey: row.state_key, eventId: row.event_id, content: content as Record<string, unknown> });
    }
  }
  return out;
}

/** The accepted hook state in the SQLite file (synchronous underneath: a read and the write after it never interleave). */
export class AcceptedHooksTable implements AcceptedHooksStore {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly changed: AcceptedRoomChanged = () => undefined,
  ) {
    this.q = {
      current: db.prepare<[string, string, string], { event_id: string | null; content: string }>("SELECT event_id, content FROM accepted_hook_state WHERE room_id = ? AND event_type = ? AND state_key = ?"),
      upsert: db.prepare("INSERT INTO accepted_hook_state (room_id, event_type, state_key, event_id, content) VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, event_type, state_key) DO UPDATE SET event_id = excluded.event_id, content = excluded.content"),
      remove: db.prepare("DELETE FROM accepted_hook_state WHERE room_id = ? AND event_type = ? AND state_key = ?"),
      removeRoom: db.prepare("DELETE FROM accepted_hook_state WHERE room_id = ?"),
      bump: db.prepare<[string], { version: number }>("INSERT INTO accepted_rooms (room_id, version) VALUES (?, 1) ON CONFLICT (room_id) DO UPDATE SET version = version + 1 RETURNING version"),
      forRoom: db.prepare<[string], AcceptedHookRow>("SELECT event_type, state_key, event_id, content FROM accepted_hook_state WHERE room_id = ?"),
      version: db.prepare<[string], { version: number }>("SELECT version FROM accepted_rooms WHERE room_id = ?"),
      rooms: db.prepare<[], { room_id: string }>("SELECT DISTINCT room_id FROM accepted_hook_state"),
    };
  }

  async accept(roomId: string, eventType: string, stateKey: string, eventId: string | null, content: Record<string, unknown>): Promise<void> {
    const json = JSON.stringify(content);
    const current = this.q.current.get(roomId, eventType, stateKey);
    if (current && current.event_id === eventId && current.content === json) return;
    const version = this.db.transaction(() => {
      this.q.upsert.run(roomId, eventType, stateKey, eventId, json);
      return this.q.bump.get(roomId)!.version;
    }).immediate();
    this.changed(roomId, version);
  }

  async forget(roomId: string, eventType: string, stateKey: string): Promise<void> {
    this.removeAndBump(roomId, () => this.q.remove.run(roomId, eventType, stateKey).changes);
  }

  async forgetRoom(roomId: string): Promise<void> {
    this.removeAndBump(roomId, () => this.q.removeRoom.run(roomId).changes);
  }

  async forRoom(roomId: string): Promise<AcceptedHookState[]> {
    return toAcceptedStates(this.q.forRoom.all(roomId));
  }

  async version(roomId: string): Promise<number> {
    return this.q.version.get(roomId)?.version ?? 0;
  }

  async versions(roomIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const roomId of roomIds) {
      const row = this.q.version.get(roomId);
      if (row) out.set(roomId, row.version);
    }
    return out;
  }

  async rooms(): Promise<string[]> {
    return this.q.rooms.all().map((r) => r.room_id);
  }

  /** Deletes; the version grows only when a row went. */
  private removeAndBump(roomId: string, remove: () => number): void {
    const version = this.db.transaction(() => (remove() > 0 ? this.q.bump.get(roomId)!.version : null)).immediate();
    if (version !== null) this.changed(roomId, version);
  }
}
