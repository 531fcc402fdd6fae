import pg from "pg";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";
import { describeQueueContract } from "./queue.contract.js";
import { PostgresDeliveryQueue, type PostgresQueueOptions } from "./postgres-queue.js";

/**
 * The contract on a real server, as processes that share the database use the queue, and as one
 * process alone on it (role all: exclusive, a transaction's jobs leased as they are stored, once
 * a claim said which hooks it takes).
 */
function describePostgresContract(name: string, opts: Omit<PostgresQueueOptions, "url">, primed: boolean): void {
  describeQueueContract(name, async () => {
    const url = await freshDatabase("contract");
    const open: Array<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> = [];
    const start = async () => {
      const pool = await openPgStore({ url, poolSize: 4 });
      const queue = await PostgresDeliveryQueue.open(pool, { url, ...opts });
      if (primed) await queue.claimDue(1, { now: Date.now(), leaseMs: 10_000 });
      open.push({ pool, queue });
      return queue;
    };
    const first = await start();
    return {
      queue: first,
      async restart({ killed = false } = {}) {
        // Killed: its leases stay in the tables until they run out (alone on the database, the next
        // run takes them at once); closed: it wrote what it had.
        const last = open[open.length - 1]!;
        if (!killed) await last.queue.close();
        else if (opts.exclusive) await killConnections(last.pool, url);
        return start();
      },
      async dispose() {
        for (const { pool, queue } of open) {
          await queue.close().catch(() => undefined);
          await pool.end().catch(() => undefined);
        }
      },
    };
  });
}

/** A process's end as its database sees it: its pool gone, and its other connections (the listener, holding the lock) cut. */
async function killConnections(pool: pg.Pool, url: string): Promise<void> {
  await pool.end();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
  } finally {
    await admin.end();
  }
}

describePostgresContract("PostgreSQL (real server)", {}, false);
describePostgresContract("PostgreSQL, one process leasing on store (real server)", { exclusive: true, leaseOnStore: { jobs: 100_000, bytes: 1 << 27, perHook: 4000 } }, true);
