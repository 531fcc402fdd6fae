// Shared by the router's tests on a real PostgreSQL (the "postgres" vitest project): a fresh
// database per test with its pool and a shared queue, the real transaction endpoint over a
// router, and what they left closed after each test.
import type pg from "pg";
import { afterEach } from "vitest";
import { PostgresDeliveryQueue } from "../delivery/queue/postgres-queue.js";
import type { MatrixPort } from "../matrix/port.js";
import { transactionEndpoint, type TransactionEndpoint } from "../matrix/transactions-test-fixtures.js";
import type { TransactionSink } from "../matrix/transactions.js";
import { openPgStore } from "../store/postgres/pg-store.js";
import { freshDatabase } from "../store/postgres/pg-test-fixtures.js";

/** The bot alone is the bridge's user. */
export const BOT_MATRIX = { botUserId: "@bot:x", isBridgeUser: (userId: string) => userId === "@bot:x" } as unknown as MatrixPort;

export interface RouterOnPostgres {
  pool: pg.Pool;
  queue: PostgresDeliveryQueue;
  /** The real endpoint over `sink` (the router), on loopback. */
  serve(sink: TransactionSink): Promise<TransactionEndpoint>;
  /** The queued jobs' events and hooks, in key order. */
  jobs(): Promise<Array<{ eventId: string; hookId: string }>>;
}

/** Registers the closing after each test; the function it returns opens a fresh database's pool and queue. */
export function routerOnPostgres(prefix: string): () => Promise<RouterOnPostgres> {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return async () => {
    const url = await freshDatabase(prefix);
    const pool = await openPgStore({ url, poolSize: 2 });
    closers.push(() => pool.end());
    const queue = await PostgresDeliveryQueue.open(pool, { url, shared: true });
    closers.push(() => queue.close());
    return {
      pool,
      queue,
      async serve(sink) {
        const endpoint = await transactionEndpoint(sink);
        closers.push(() => endpoint.close());
        return endpoint;
      },
      async jobs() {
        const { rows } = await pool.query<{ event_id: string; hook_id: string }>("SELECT m.event_id, j.hook_id FROM jobs j JOIN messages m ON m.id = j.message_id ORDER BY j.id");
        return rows.map((r) => ({ eventId: r.event_id, hookId: r.hook_id }));
      },
    };
  };
}
