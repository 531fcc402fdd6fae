import { toAcceptedStates, type AcceptedHookRow, type AcceptedHookState, type AcceptedHooksStore } from "./accepted-hooks-table.js";

/** Every room's accepted rows, as read in one go (AcceptedRowsReader). */
export type AcceptedRowsByRoom = Map<string, AcceptedHookRow[]>;

/** A store that can read every room's accepted rows at once. */
export interface AcceptedRowsReader {
  allRows(): Promise<AcceptedRowsByRoom>;
}

/**
 * The accepted hook state of a process alone on its PostgreSQL store (role all), kept in memory
 * and written through. A start reads and re-accepts every hook of every room: without it that is
 * a round trip per hook and two per room (10,900 hooks: seconds), though almost nothing changed.
 * Only a process that is the store's one writer may use it (no other process changes the rows
 * behind it). Versions and the room list are read from the store, as before.
 */
export class AcceptedHooksMirror implements AcceptedHooksStore {
  private constructor(
    private readonly store: AcceptedHooksStore,
    /** room → "type\0state key" → the row as stored. */
    private readonly byRoom: Map<string, Map<string, AcceptedHookRow>>,
  ) {}

  static async open(store: AcceptedHooksStore & AcceptedRowsReader): Promise<AcceptedHooksMirror> {
    const byRoom = new Map<string, Map<string, AcceptedHookRow>>();
    for (const [roomId, rows] of await store.allRows()) byRoom.set(roomId, new Map(rows.map((row) => [rowKey(row.event_type, row.state_key), row])));
    return new AcceptedHooksMirror(store, byRoom);
  }

  async accept(roomId: string, eventType: string, stateKey: string, eventId: string | null, content: Record<string, unknown>): Promise<void> {
    const text = JSON.stringify(content);
    const key = rowKey(eventType, stateKey);
    const known = this.byRoom.get(roomId)?.get(key);
    // As the store itself decides: the row as recorded already changes nothing.
    if (known && known.event_id === eventId && known.content === text) return;
    await this.store.accept(roomId, eventType, stateKey, eventId, content);
    let room = this.byRoom.get(roomId);
    if (!room) this.byRoom.set(roomId, (room = new Map()));
    room.set(key, { event_type: eventType, state_key: stateKey, event_id: eventId, content: text });
  }

  async forget(roomId: string, eventType: string, stateKey: string): Promise<void> {
    const room = this.byRoom.get(roomId);
    const key = rowKey(eventType, stateKey);
    if (!room?.has(key)) return;
    await this.store.forget(roomId, eventType, stateKey);
    room.delete(key);
    if (room.size === 0) this.byRoom.delete(roomId);
  }

  async forgetRoom(roomId: string): Promise<void> {
    if (!this.byRoom.has(roomId)) return;
    await this.store.forgetRoom(roomId);
    this.byRoom.delete(roomId);
  }

  async forRoom(roomId: string): Promise<AcceptedHookState[]> {
    return toAcceptedStates([...(this.byRoom.get(roomId)?.values() ?? [])]);
  }

  version(roomId: string): Promise<number> {
    return this.store.version(roomId);
  }

  versions(roomIds: readonly string[]): Promise<Map<string, number>> {
    return this.store.versions(roomIds);
  }

  rooms(): Promise<string[]> {
    return this.store.rooms();
  }
}

function rowKey(eventType: string, stateKey: string): string {
  return `${eventType}\0${stateKey}`;
}
