import type pg from "pg";
import { toAcceptedStates, type AcceptedHookRow, type AcceptedHookState, type AcceptedHooksStore, type AcceptedRoomChanged } from "../accepted-hooks-table.js";
import type { AcceptedRowsByRoom, AcceptedRowsReader } from "../accepted-hooks-mirror.js";
import { pgQuery } from "./pg-query.js";
import { pgText } from "./pg-store.js";

// Room ids, types, state keys and contents come from Matrix events: pgText keeps a U+0000 in one from failing the statement.

// The room's version grows by one in the same statement as the change, and only when a row
// changed: one statement is one transaction, so two processes changing a room at once each bump it.
const BUMP = `INSERT INTO accepted_rooms (room_id, version) SELECT $1, 1 WHERE EXISTS (SELECT 1 FROM changed)
  ON CONFLICT (room_id) DO UPDATE SET version = accepted_rooms.version + 1 RETURNING version`;

/** The accepted hook state in PostgreSQL, shared by the processes on every host. */
export class PgAcceptedHooksTable implements AcceptedHooksStore, AcceptedRowsReader {
  constructor(
    private readonly pool: pg.Pool,
    private readonly changed: AcceptedRoomChanged = () => undefined,
  ) {}

  async accept(roomId: string, eventType: string, stateKey: string, eventId: string | null, content: Record<string, unknown>): Promise<void> {
    // The row as recorded already changes nothing (the update's WHERE), and bumps nothing.
    await this.changeAndBump(
      `WITH changed AS (
         INSERT INTO accepted_hook_state (room_id, event_type, state_key, event_id, content) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (room_id, event_type, state_key) DO UPDATE SET event_id = excluded.event_id, content = excluded.content
         WHERE accepted_hook_state.event_id IS DISTINCT FROM excluded.event_id OR accepted_hook_state.content <> excluded.content
         RETURNING 1
       ) ${BUMP}`,
      roomId,
      [pgText(eventType), pgText(stateKey), pgText(eventId), pgText(JSON.stringify(content))],
    );
  }

  async forget(roomId: string, eventType: string, stateKey: string): Promise<void> {
    await this.changeAndBump(`WITH changed AS (DELETE FROM accepted_hook_state WHERE room_id = $1 AND event_type = $2 AND state_key = $3 RETURNING 1) ${BUMP}`, roomId, [pgText(eventType), pgText(stateKey)]);
  }

  async forgetRoom(roomId: string): Promise<void> {
    await this.changeAndBump(`WITH changed AS (DELETE FROM accepted_hook_state WHERE room_id = $1 RETURNING 1) ${BUMP}`, roomId, []);
  }

  async forRoom(roomId: string): Promise<AcceptedHookState[]> {
    const { rows } = await pgQuery<AcceptedHookRow>(this.pool, "SELECT event_type, state_key, event_id, content FROM accepted_hook_state WHERE room_id = $1", [pgText(roomId)]);
    return toAcceptedStates(rows);
  }

  async version(roomId: string): Promise<number> {
    const { rows } = await pgQuery<{ version: number }>(this.pool, "SELECT version FROM accepted_rooms WHERE room_id = $1", [pgText(roomId)]);
    return rows[0]?.version ?? 0;
  }

  async versions(roomIds: readonly string[]): Promise<Map<string, number>> {
    if (roomIds.length === 0) return new Map();
    const { rows } = await pgQuery<{ room_id: string; version: number }>(this.pool, "SELECT room_id, version FROM accepted_rooms WHERE room_id = ANY($1::text[])", [roomIds.map((id) => pgText(id))]);
    return new Map(rows.map((r) => [r.room_id, r.version]));
  }

  async allRows(): Promise<AcceptedRowsByRoom> {
    const { rows } = await pgQuery<AcceptedHookRow & { room_id: string }>(this.pool, "SELECT room_id, event_type, state_key, event_id, content FROM accepted_hook_state");
    const byRoom: AcceptedRowsByRoom = new Map();
    for (const { room_id: roomId, ...row } of rows) {
      let list = byRoom.get(roomId);
      if (!list) byRoom.set(roomId, (list = []));
      list.push(row);
    }
    return byRoom;
  }

  async rooms(): Promise<string[]> {
    const { rows } = await pgQuery<{ room_id: string }>(this.pool, "SELECT DISTINCT room_id FROM accepted_hook_state");
    return rows.map((r) => r.room_id);
  }

  /** Runs the statement ($1 is the room); tells `changed` once it committed, when the version grew. */
  private async changeAndBump(text: string, roomId: string, values: unknown[]): Promise<void> {
    const { rows } = await pgQuery<{ version: number }>(this.pool, text, [pgText(roomId), ...values]);
    if (rows[0]) this.changed(roomId, rows[0].version);
  }
}
