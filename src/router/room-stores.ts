import type pg from "pg";
import { AcceptedHooksMirror } from "../store/accepted-hooks-mirror.js";
import { AcceptedHooksTable, type AcceptedHooksStore, type AcceptedRoomChanged } from "../store/accepted-hooks-table.js";
import type { Db } from "../store/database.js";
import { PgAcceptedHooksTable } from "../store/postgres/pg-accepted-hooks-table.js";
import { PgRoomSnapshotsTable } from "../store/postgres/pg-room-snapshots-table.js";
import { RoomSnapshotsTable, type RoomSnapshotsStore } from "../store/room-snapshots-table.js";

export interface RoomStores {
  /** The hook state this process accepts, for the processes that follow its rooms. */
  accepted: AcceptedHooksStore;
  /** The rooms' saved state, so that a start needs no homeserver request per room. */
  snapshots: RoomSnapshotsStore;
}

/**
 * The rooms' tables on the store's engine: PostgreSQL when there is a pool (shared by every host),
 * else the SQLite file. `alone`: no other process uses the PostgreSQL store (role all), so the
 * accepted hook state is kept in memory too (AcceptedHooksMirror).
 */
export async function openRoomStores(store: { db: Db; pool: pg.Pool | null; alone: boolean }, acceptedChanged: AcceptedRoomChanged): Promise<RoomStores> {
  const { pool } = store;
  if (pool) {
    const table = new PgAcceptedHooksTable(pool, acceptedChanged);
    return { accepted: store.alone ? await AcceptedHooksMirror.open(table) : table, snapshots: new PgRoomSnapshotsTable(pool) };
  }
  return { accepted: new AcceptedHooksTable(store.db, acceptedChanged), snapshots: new RoomSnapshotsTable(store.db) };
}
