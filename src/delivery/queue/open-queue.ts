import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { BridgeConfig } from "../../config/types.js";
import type { Logger } from "../../observability/logger.js";
import type { Db } from "../../store/database.js";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { NO_OTHER_PROCESSES, PgChangeFeed, type ChangeFeed } from "../../store/postgres/change-feed.js";
import { importMovedTables } from "../../store/postgres/sqlite-import.js";
import { PostgresDeliveryQueue } from "./postgres-queue.js";
import type { DeliveryQueue } from "./queue.js";
import { SqliteDeliveryQueue } from "./sqlite-queue.js";
import { rolePlan } from "../../role-plan.js";

export interface OpenedQueue {
  queue: DeliveryQueue;
  /** What the other processes sharing the store changed, and how to tell them (nobody on SQLite). */
  changes: ChangeFeed;
  /** The PostgreSQL store's pool, for the other tables kept there (null on SQLite). */
  pool: pg.Pool | null;
  /** Stores what is left and releases the queue's connections (or writer thread). */
  close(): Promise<void>;
}

/** The delivery queue on the configured engine (store.engine). */
export async function openDeliveryQueue(config: BridgeConfig, db: Db, log: Logger): Promise<OpenedQueue> {
  if (config.store.engine === "sqlite") {
    const queue = new SqliteDeliveryQueue(db, {
      laneCapacity: config.delivery.heldPerHook, heldTotal: config.delivery.heldTotal, heldBytes: config.delivery.heldBytes, synchronous: config.store.synchronous,
      onWriteError: (err) => log.error({ err }, "could not store delivery outcomes; trying again in 1 s"),
    });
    return { queue, changes: NO_OTHER_PROCESSES, pool: null, close: () => queue.close() };
  }
  const url = config.store.postgres.url;
  if (url === null) throw new Error("store.postgres.url is required when store.engine is postgres");
  const where = describeDatabase(url);
  // Names this run in the rows it stores (follow-ups), and in the session lock that says it lives.
  const runId = randomBytes(9).toString("hex");
  const pool = await openPgStore({ url, poolSize: config.store.postgres.poolSize, runId }, { onError: (err) => log.warn({ err: safeError(err) }, "a PostgreSQL connection broke; the pool opens another") }).catch((err: unknown) => {
    throw new Error(`Cannot open the PostgreSQL store at ${where}: ${(err as Error).message}`, { cause: err });
  });
  try {
    // Before anything is copied: a refused start leaves the file as the store of record.
    const leftInFile = leftInSqliteQueue(db);
    if (leftInFile.deliveries + leftInFile.followUps > 0) {
      throw new Error(`the SQLite file at store.path still has ${leftInFile.deliveries} pending deliveries and ${leftInFile.followUps} commands or other work not yet run, `
        + "stored while store.engine was sqlite; PostgreSQL does not take them over. Start with store.engine: sqlite until they are done "
        + "(!hooks outbound status shows what waits; a paused hook's deliveries wait until it is resumed or removed), then switch");
    }
    // Rows stored in the SQLite file before these tables moved (a first start after the upgrade).
    const copied = await importMovedTables(pool, db);
    if (copied.size > 0) log.info({ rows: Object.fromEntries(copied) }, "copied the tables that moved to PostgreSQL from the SQLite file");
    // Role all is the only process on the database; the other roles share it with each other.
    const { alone } = rolePlan(config.bridge.role);
    const queue = await PostgresDeliveryQueue.open(pool, {
      url, exclusive: alone, shared: !alone, runId,
      // Alone, it also delivers: a transaction's jobs go out from memory, as on SQLite, up to the same bounds.
      ...(alone ? { leaseOnStore: { jobs: config.delivery.heldTotal, bytes: config.delivery.heldBytes, perHook: config.delivery.heldPerHook } } : {}),
      onBackgroundError: (err) => log.error({ err: safeError(err) }, "PostgreSQL delivery queue: a background write or the listening connection failed; trying again in 1 s"),
    });
    let changes: ChangeFeed;
    try {
      changes = alone ? NO_OTHER_PROCESSES : await PgChangeFeed.open(pool, { url, onError: (err) => log.warn({ err: safeError(err) }, "PostgreSQL change notices: announcing or listening failed; listening again in 1 s") });
    } catch (err) {
      await queue.close();
      throw err;
    }
    log.info({ database: where, role: config.bridge.role }, "delivery queue in PostgreSQL");
    return {
      queue,
      changes,
      pool,
      async close() {
        await changes.close();
        await queue.close();
        await pool.end();
      },
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`Cannot use the PostgreSQL store at ${where}: ${(err as Error).message}`, { cause: err });
  }
}

/** Work the SQLite queue of the same file still holds (a bridge switched from sqlite to postgres with deliveries pending). */
export function leftInSqliteQueue(db: Db): { deliveries: number; followUps: number } {
  const count = (sql: string): number => (db.prepare<[], { n: number }>(sql).get()?.n ?? 0);
  return {
    deliveries: count("SELECT COUNT(*) AS n FROM jobs WHERE state = 'pending'"),
    followUps: count("SELECT COUNT(*) AS n FROM follow_ups WHERE done_at IS NULL"),
  };
}

/** host:port/database of a URL, never its user's password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname}`;
  } catch {
    return "(an unreadable URL)";
  }
}

/** The driver's errors name the server, not the password; only their message and code are logged. */
function safeError(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown };
  return { message: String(e?.message ?? err), ...(typeof e?.code === "string" ? { code: e.code } : {}) };
}
