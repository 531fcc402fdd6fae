import type pg from "pg";
import type { Db } from "../database.js";

/** A table that moved from the SQLite file to PostgreSQL, and how its rows are copied. */
export interface ImportedTable {
  name: string;
  columns: readonly string[];
  /** The BIGSERIAL column whose sequence must continue after the copied rows' values, if any. */
  serial?: string;
}

// Tables moved by PostgreSQL migrations 5, 6 and 7, with the SQLite columns they keep, in the
// order they are copied. A table added here is copied at the next start of a database that has
// the others already.
export const MOVED_TABLES: readonly ImportedTable[] = [
  { name: "dm_rooms", columns: ["user_id", "room_id"] },
  { name: "inbound_hooks", columns: ["id", "room_id", "name", "secret_hash", "github_secret_enc", "created_by", "created_at"] },
  { name: "inbound_deliveries", columns: ["hook_id", "delivery_key", "event_id", "at"] },
  {
    name: "inbound_posts",
    columns: ["seq", "id", "hook_id", "room_id", "delivery_key", "parts", "posted", "event_ids", "state", "error", "error_kind", "created_at", "done_at"],
    serial: "seq",
  },
  { name: "replies", columns: ["id", "job_id", "hook_id", "room_id", "event_id", "parts", "posted", "created_at", "done_at", "error"], serial: "id" },
  // Migration 6.
  { name: "accepted_hook_state", columns: ["room_id", "event_type", "state_key", "event_id", "content"] },
  { name: "accepted_rooms", columns: ["room_id", "version"] },
  { name: "room_snapshots", columns: ["room_id", "state", "saved_at"] },
  // Migration 7. The hooks first: the other two refer to them.
  {
    name: "outbound_hooks",
    columns: ["id", "room_id", "kind", "name", "token_enc", "created_by", "created_at", "suspended_at", "suspended_reason", "failing_since", "consecutive_failures", "failed_deliveries", "failure_notice_at"],
  },
  // Copied in rowid order, so PostgreSQL's id keeps the order of keys made at the same ms.
  { name: "signing_keys", columns: ["hook_id", "secret_enc", "created_at", "expires_at"] },
  { name: "hook_tls", columns: ["hook_id", "part", "pem_enc", "set_by", "set_at"] },
];

// Rows per INSERT: far below PostgreSQL's 65,535 parameters for the widest table (13 columns).
const ROWS_PER_INSERT = 500;
// Any constant the processes agree on, other than the migrations' (both may be held at once).
const IMPORT_LOCK = 0x6d776269; // "mwbi"

/**
 * Copies each moved table's rows from the SQLite file into PostgreSQL, once per database: the
 * first process to start with the new schema copies them, in one transaction with the record
 * that it did, and every later start (on any host) finds the record and copies nothing. So
 * hooks, posts and replies stored before the upgrade are neither lost nor posted twice.
 * Returns the rows copied per table (empty when the copy was done before).
 */
export async function importMovedTables(pool: pg.Pool, db: Db, tables: readonly ImportedTable[] = MOVED_TABLES, now = Date.now()): Promise<Map<string, number>> {
  const copied = new Map<string, number>();
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [IMPORT_LOCK]);
    const { rows } = await client.query<{ table_name: string }>("SELECT table_name FROM imported_tables");
    const done = new Set(rows.map((r) => r.table_name));
    for (const table of tables) {
      if (done.has(table.name)) continue;
      const count = await copyTable(client, db, table);
      await client.query("INSERT INTO imported_tables (table_name, row_count, imported_at) VALUES ($1, $2, $3)", [table.name, count, now]);
      copied.set(table.name, count);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return copied;
}

async function copyTable(client: pg.PoolClient, db: Db, table: ImportedTable): Promise<number> {
  const columns = table.columns.join(", ");
  // Pages in rowid order (a serial column is the rowid, so its order is kept), never an open
  // iterator across an await: the SQLite connection stays free for anything else meanwhile.
  const page = db.prepare<[number, number], unknown[]>(`SELECT rowid, ${columns} FROM ${table.name} WHERE rowid > ? ORDER BY rowid LIMIT ?`).raw();
  const width = table.columns.length;
  let count = 0;
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = page.all(after, ROWS_PER_INSERT);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]![0] as number;
    const values = rows.map((_, r) => `(${table.columns.map((__, c) => `$${r * width + c + 1}`).join(", ")})`).join(", ");
    await client.query(`INSERT INTO ${table.name} (${columns}) VALUES ${values} ON CONFLICT DO NOTHING`, rows.flatMap((row) => row.slice(1).map(pgValue)));
    count += rows.length;
  }
  if (table.serial) {
    // The next row stored gets a number after every copied one (the posting order continues).
    await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT MAX(${table.serial}) FROM ${table.name}), 1), (SELECT MAX(${table.serial}) FROM ${table.name}) IS NOT NULL)`, [table.name, table.serial]);
  }
  return count;
}

// SQLite gives BLOBs as Buffers (PostgreSQL's BYTEA takes them as they are) and integers as numbers;
// text PostgreSQL cannot hold (U+0000) becomes U+FFFD, as elsewhere in the PostgreSQL store.
function pgValue(value: unknown): unknown {
  return typeof value === "string" && value.includes("\0") ? value.replaceAll("\0", "\uFFFD") : value;
}
