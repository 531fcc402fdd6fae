import { startPostgres } from "../spec/harness/postgres.js";
import { openPgStore } from "../src/store/postgres/pg-store.js";
import { PostgresDeliveryQueue } from "../src/delivery/queue/postgres-queue.js";

const pgh = await startPostgres({ durable: true });
const url = await pgh.createDatabase("probe");
const pool = await openPgStore({ url, poolSize: 4 });
const q = await PostgresDeliveryQueue.open(pool, { url });
const hooks = Array.from({ length: 20 }, (_, i) => `ep_${i}`);
let n = 0;
for (let t = 0; t < 400; t++) {
  const messages = Array.from({ length: 50 }, () => { n++; return { eventId: `$ev${n}`, originTs: 1e12 + n, roomId: `!r${n % 10}:x`, body: JSON.stringify({ type: "m.room.message", content: { body: "x".repeat(200) }, n }), hookIds: [hooks[n % 10]!, hooks[10 + (n % 10)]!] }; });
  await q.storeTransaction({ txnId: `t${t}`, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
}
await pool.query("ANALYZE");
const time = async (label: string, fn: () => Promise<unknown>) => { const s = performance.now(); await fn(); const ms = performance.now() - s; console.log(label, ms.toFixed(2), "ms"); return ms; };
for (let round = 0; round < 5; round++) {
  const jobs = await q.claimDue(128, { now: Date.now(), leaseMs: 60_000 });
  const { rows } = await pool.query("SELECT id, lease_token FROM jobs WHERE id = ANY($1) ", [jobs.map((j) => j.key)]);
  const ids = rows.map((r) => Number(r.id)); const tokens = rows.map((r) => r.lease_token);
  const now = Date.now();
  await time(`round ${round}: ${ids.length} updates (loop)`, () => pool.query(`DO $$ BEGIN END $$`));
  await time(`  loop update`, () => pool.query(`SELECT count(*) FROM (SELECT 1) x, LATERAL (SELECT mwb_probe_upd($1::bigint[], $2::text[], $3::bigint)) y`, [ids, tokens, now]).catch(async (e) => {
    await pool.query(`CREATE FUNCTION mwb_probe_upd(p_ids BIGINT[], p_tokens TEXT[], p_at BIGINT) RETURNS VOID LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
      BEGIN FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        UPDATE jobs SET state = 'done', attempts = jobs.attempts + 1, finished_at = p_at, lease_until = NULL, lease_token = NULL WHERE jobs.id = p_ids[i] AND jobs.lease_token = p_tokens[i] AND jobs.state = 'pending';
      END LOOP; END $fn$`);
    return pool.query(`SELECT mwb_probe_upd($1::bigint[], $2::text[], $3::bigint)`, [ids, tokens, now]);
  }));
  await time(`  attempts insert`, () => pool.query(`INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at) SELECT id, 'ep_1', '$e', 1, 'success', 200, NULL, 3, '', $2 FROM unnest($1::bigint[]) id`, [ids, now]));
  await time(`  commit-only statement`, () => pool.query(`SELECT 1`));
}
// EXPLAIN one update
const { rows: one } = await pool.query("SELECT id, lease_token FROM jobs WHERE state = 'pending' LIMIT 1");
const ex = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, WAL) UPDATE jobs SET state = 'done', finished_at = 1 WHERE id = $1 AND state = 'pending'`, [one[0].id]);
console.log(ex.rows.map((r) => r["QUERY PLAN"]).join("\n"));
const ex2 = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, WAL) UPDATE jobs SET lease_until = 5, lease_token = 'x' WHERE id = $1`, [Number(one[0].id) + 1]);
console.log(ex2.rows.map((r) => r["QUERY PLAN"]).join("\n"));
await q.close(); await pool.end(); await pgh.stop();
