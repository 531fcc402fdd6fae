import type pg from "pg";
import type { Db } from "./database.js";
import { HookTlsTable, type HookTlsStore } from "./hook-tls-table.js";
import { OutboundHooksTable, type OutboundHooksStore } from "./outbound-hooks-table.js";
import { PgHookTlsTable } from "./postgres/pg-hook-tls-table.js";
import { PgOutboundHooksTable } from "./postgres/pg-outbound-hooks-table.js";
import { PgSigningKeysTable } from "./postgres/pg-signing-keys-table.js";
import { SigningKeysTable, type SigningKeysStore } from "./signing-keys-table.js";

export interface OutboundHookRecords {
  hooks: OutboundHooksStore;
  signingKeys: SigningKeysStore;
  tls: HookTlsStore;
}

/**
 * The outbound hooks' records on the store's engine: PostgreSQL when there is a pool (shared by
 * every host; read into memory here), else the SQLite file. `changed` is told of each change this
 * process makes, for the others to read it again.
 */
export async function openOutboundHookRecords(store: { db: Db; pool: pg.Pool | null; alone?: boolean }, key: Buffer, changed: (hookId: string) => void): Promise<OutboundHookRecords> {
  const { pool } = store;
  if (!pool) return { hooks: new OutboundHooksTable(store.db, key), signingKeys: new SigningKeysTable(store.db, key), tls: new HookTlsTable(store.db, key) };
  const [hooks, signingKeys, tls] = await Promise.all([
    PgOutboundHooksTable.open(pool, key, changed, { alone: store.alone ?? false }), PgSigningKeysTable.open(pool, key, changed), PgHookTlsTable.open(pool, key, changed),
  ]);
  return { hooks, signingKeys, tls };
}
