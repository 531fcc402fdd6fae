import pg from "pg";
import { PG_MIGRATIONS } from "./pg-migrations.js";

/** Where the PostgreSQL store is and how many connections a process may hold. */
export interface PgStoreSettings {
  url: string;
  poolSize: number;
  /** This process run's id, set on every connection (mwb.run): rows it stores name it (follow-ups). */
  runId?: string;
}

// BIGINT (int8) columns hold ms timestamps and keys, all far below 2^53: read them as numbers.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text"))) as typeof pg.types.getTypeParser,
};

// A connection that died without a word (a host or a network gone) fails its statements within a
// minute or so instead of after the kernel's TCP timeout (often 15 minutes), which would hold up
// the writes behind it while every lease ran out. No statement of the bridge runs that long.
const CONNECTION_LIMITS = {
  connectionTimeoutMillis: 10_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
  statement_timeout: 60_000,
  query_timeout: 75_000,
} as const;

/** A connection pool to the store, with its schema brought up to date (once per store, whichever process starts first). */
export async function openPgStore(settings: PgStoreSettings, opts: { onError?: (err: Error) => void } = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: settings.url, max: settings.poolSize, types, ...CONNECTION_LIMITS,
    ...(settings.runId ? { options: `-c mwb.run=${settings.runId}` } : {}),
  });
  // An idle connection that breaks (the server restarted) must not take the process down.
  pool.on("error", (err) => opts.onError?.(err));
  try {
    await migratePg(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return pool;
}

/** A client outside the pool (LISTEN holds its connection for good), with the same type parsing. */
export function pgClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, types, ...CONNECTION_LIMITS });
}

/**
 * Text as PostgreSQL stores it: a TEXT value cannot hold U+0000, which SQLite's can (a receiver's
 * binary answer, an error message quoting it), so it becomes U+FFFD instead of failing the write.
 */
export function pgText<T extends string | null>(text: T): T {
  return (text !== null && text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text) as T;
}

// Any constant both processes agree on: the migrations of one store run one process at a time.
const MIGRATION_LOCK = 0x6d7762; // "mwb"
// The client-side limit of a migration's statements (pg reads 0 as "the pool's default").
const MIGRATION_TIMEOUT_MS = 24 * 3_600_000;

async function migratePg(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  // A migration (or waiting for another process's) may take longer than any statement of the
  // bridge may: no time limit here, on either side.
  // (pg reads a query's own query_timeout, though its types do not list it.)
  const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> =>
    client.query<R>({ text, values, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
  try {
    await query("BEGIN");
    await query("SET LOCAL statement_timeout = 0");
    await query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const { rows } = await query<{ version: number }>("SELECT version FROM schema_version");
    const current = rows[0]?.version ?? 0;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(`The PostgreSQL schema is version ${current}, newer than this bridge knows (${PG_MIGRATIONS.length}). Upgrade the bridge or restore a matching backup.`);
    }
    for (let version = current; version < PG_MIGRATIONS.length; version++) await query(PG_MIGRATIONS[version]!);
    if (rows.length === 0) await query("INSERT INTO schema_version (version) VALUES ($1)", [PG_MIGRATIONS.length]);
    else await query("UPDATE schema_version SET version = $1", [PG_MIGRATIONS.length]);
    await query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
