// The replies' contract (../../outbound/chat/reply-poster.contract.ts) on a real PostgreSQL.
import { replyPosterContract } from "../../outbound/chat/reply-poster.contract.js";
import { PgRepliesTable } from "./pg-replies-table.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase } from "./pg-test-fixtures.js";

replyPosterContract("PostgreSQL", async () => {
  const pool = await openPgStore({ url: await freshDatabase("replies"), poolSize: 2 });
  return {
    table: new PgRepliesTable(pool),
    givenUp: async () => (await pool.query<{ jobId: string; error: string }>('SELECT job_id AS "jobId", error FROM replies WHERE error IS NOT NULL ORDER BY id')).rows,
    close: () => pool.end(),
  };
});
