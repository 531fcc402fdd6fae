import type pg from "pg";
import { StoreUnavailableError } from "../store-unavailable.js";

/** PostgreSQL's SQLSTATE for a unique violation. */
export const UNIQUE_VIOLATION = "23505";

/** One statement on the pool; any failure becomes a StoreUnavailableError (answered "try again later"). */
export async function pgQuery<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(text, values);
  } catch (err) {
    throw new StoreUnavailableError(err);
  }
}
