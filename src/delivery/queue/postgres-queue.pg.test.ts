import type pg from "pg";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";
import { describeQueueContract } from "./queue.contract.js";
import { PostgresDeliveryQueue } from "./postgres-queue.js";

describeQueueContract("PostgreSQL (real server)", async () => {
  const url = await freshDatabase("contract");
  const open: Array<{ pool: pg.Pool; queue: PostgresDeliveryQueue }> = [];
  const start = async () => {
    const pool = await openPgStore({ url, poolSize: 4 });
    const queue = await PostgresDeliveryQueue.open(pool, { url });
    open.push({ pool, queue });
    return queue;
  };
  const first = await start();
  return {
    queue: first,
    async restart({ killed = false } = {}) {
      // Killed: its leases stay in the tables until they run out; closed: it wrote what it had.
      const last = open[open.length - 1]!;
      if (!killed) await last.queue.close();
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
