import type pg from "pg";
import type { Db } from "../store/database.js";
import { InboundDeliveriesTable, type InboundDeliveriesStore } from "../store/inbound-deliveries-table.js";
import { InboundHooksTable, type InboundHooksStore } from "../store/inbound-hooks-table.js";
import { InboundPostsTable, type InboundPostsStore } from "../store/inbound-posts-table.js";
import { PgInboundDeliveriesTable } from "../store/postgres/pg-inbound-deliveries-table.js";
import { PgInboundHooksTable } from "../store/postgres/pg-inbound-hooks-table.js";
import { PgInboundPostsTable } from "../store/postgres/pg-inbound-posts-table.js";

export interface InboundStores {
  hooks: InboundHooksStore;
  posts: InboundPostsStore;
  deliveries: InboundDeliveriesStore;
}

/** The inbound tables on the store's engine: PostgreSQL when there is a pool (shared by every host), else the SQLite file. */
export function openInboundStores(store: { db: Db; pool: pg.Pool | null }, key: Buffer, hookChanged?: (hookId: string) => void): InboundStores {
  const { pool } = store;
  if (pool) return { hooks: new PgInboundHooksTable(pool, key, hookChanged), posts: new PgInboundPostsTable(pool), deliveries: new PgInboundDeliveriesTable(pool) };
  return { hooks: new InboundHooksTable(store.db, key, hookChanged), posts: new InboundPostsTable(store.db), deliveries: new InboundDeliveriesTable(store.db) };
}
