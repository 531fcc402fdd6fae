import { startPostgres } from "../spec/harness/postgres.js";
import { openPgStore } from "../src/store/postgres/pg-store.js";
import { PostgresDeliveryQueue } from "../src/delivery/queue/postgres-queue.js";
const server = await startPostgres({ durable: true, settings: ["shared_preload_libraries = 'pg_stat_statements'"] });
try {
  const url = await server.createDatabase("probe");
  const pool = await openPgStore({ url, poolSize: 10 });
  const q = await PostgresDeliveryQueue.open(pool, { url, exclusive: true });
  await pool.query("CREATE EXTENSION pg_stat_statements");
  const hooks = Array.from({ length: 20 }, (_, i) => `ep_${i}`);
  const body = JSON.stringify({ content: { body: "x".repeat(400) } });
  for (let x = 0; x < 1000; x++) {
    await q.storeTransaction({ txnId: `t${x}`, eventIds: [], followUps: [], messages: Array.from({ length: 50 }, (_, i) => ({ eventId: `$e${x}_${i}`, originTs: 1, roomId: "!r", body, hookIds: [hooks[(x * 50 + i) % 10]!, hooks[10 + ((x * 50 + i) % 10)]!] })) });
  }
  let n = 0;
  const ok = { outcome: "success" as const, status: 200, error: null, durationMs: 1, responseBody: "" };
  const t = Date.now();
  const inflight: any[] = [];
  while (n < 20000) {
    const jobs = await q.claimDue(16, { now: Date.now(), leaseMs: 40000, perHookLimit: 8 });
    inflight.push(...jobs);
    // complete the older half, like a worker with 32 in flight
    while (inflight.length > 32) q.complete(inflight.shift(), ok);
    n += jobs.length;
    if (jobs.length === 0) await q.flush();
  }
  await q.flush();
  console.log("60k claims", Date.now() - t, "ms");
  const { rows } = await pool.query("SELECT calls, round(total_exec_time::numeric,1) AS total, round(mean_exec_time::numeric,3) AS mean, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 5");
  console.table(rows);
  await pool.query("ANALYZE jobs");
  const ex = await pool.query(`EXPLAIN (ANALYZE, BUFFERS) WITH picked AS (
         SELECT c.id FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS h(hook_id, want, ord)
         CROSS JOIN LATERAL (
           SELECT j.id FROM jobs j
           WHERE j.hook_id = h.hook_id AND j.state = 'pending' AND j.due_at <= $3 AND (j.lease_until IS NULL OR j.lease_until <= $3)
           ORDER BY j.id LIMIT h.want
           FOR UPDATE SKIP LOCKED
         ) c
         LIMIT $4),
       leased AS (
         UPDATE jobs SET lease_until = $5, lease_token = $6 FROM picked WHERE jobs.id = picked.id
         RETURNING jobs.id, jobs.hook_id, jobs.attempts, jobs.due_at, jobs.message_id)
       SELECT l.id, l.hook_id, l.attempts, l.due_at, m.event_id, m.room_id, m.body FROM leased l JOIN messages m ON m.id = l.message_id ORDER BY l.id`, [hooks, hooks.map(() => 8), Date.now(), 64, Date.now() + 40000, "x"]);
  console.log(ex.rows.map((r: any) => r["QUERY PLAN"]).join("\n"));
  await q.close(); await pool.end();
} finally { await server.stop(); }
