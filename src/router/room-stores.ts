import type pg from "pg";
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

/** The rooms' tables on the store's engine: PostgreSQL when there is a pool (shared by every host), else the SQLite file. */
export function openRoomStores(store: { db: Db; pool: pg.Pool | null }, acceptedChanged: AcceptedRoomChanged): RoomStores {
  const { pool } = store;
  if (pool) return { accepted: new PgAcceptedHooksTable(pool, acceptedChanged), snapshots: new PgRoomSnapshotsTable(pool) };
  return { accepted: new AcceptedHooksTable(store.db, acceptedChanged), snapshots: new RoomSnapshotsTable(store.db) };
}
