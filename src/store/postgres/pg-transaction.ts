import type pg from "pg";
import { StoreUnavailableError } from "../store-unavailable.js";

/** A statement inside the transaction; a failure becomes a StoreUnavailableError, as pgQuery's. */
export type PgTransactionQuery = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * Runs `work` in one transaction on one connection of the pool: committed when it resolves,
 * rolled back when it throws (its error is what the caller hears).
 */
export async function pgTransaction<T>(pool: pg.Pool, work: (query: PgTransactionQuery) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw new StoreUnavailableError(err);
  }
  const query: PgTransactionQuery = async (text, values = []) => {
    try {
      return await client.query(text, values);
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  };
  let broken = false;
  try {
    await query("BEGIN");
    const result = await work(query);
    await query("COMMIT");
    return result;
  } catch (err) {
    // A connection that cannot even roll back is not given back to the pool.
    await client.query("ROLLBACK").catch(() => (broken = true));
    throw err;
  } finally {
    client.release(broken);
  }
}
