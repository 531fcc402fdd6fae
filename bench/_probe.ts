import { execSync } from "node:child_process";
import { startPostgres } from "../spec/harness/postgres.js";
import { openPgStore } from "../src/store/postgres/pg-store.js";
import { PostgresDeliveryQueue } from "../src/delivery/queue/postgres-queue.js";
const claimSize = Number(process.argv[2] ?? 8);
const server = await startPostgres({ durable: true });
try {
  const url = await server.createDatabase("probe");
  const pool = await openPgStore({ url, poolSize: 10 });
  const q = await PostgresDeliveryQueue.open(pool, { url, exclusive: true });
  const hooks = Array.from({ length: 20 }, (_, i) => `ep_${i}`);
  const cpu = () => Number(execSync("/tmp/pgcpu.sh").toString().trim()) * 10;
  let c0 = cpu(); const u0 = process.cpuUsage();
  let t = Date.now();
  for (let x = 0; x < 200; x++) {
    await q.storeTransaction({ txnId: `t${x}`, eventIds: [], followUps: [], messages: Array.from({ length: 50 }, (_, i) => ({ eventId: `$e${x}_${i}`, originTs: 1, roomId: "!r", body: JSON.stringify({ content: { body: "x".repeat(200) } }), hookIds: [hooks[(x * 50 + i) % 10]!, hooks[10 + ((x * 50 + i) % 10)]!] })) });
  }
  console.log("store 10k events x2:", Date.now() - t, "ms; pg cpu ms", cpu() - c0, "node cpu ms", (process.cpuUsage(u0).user + process.cpuUsage(u0).system) / 1000); c0 = cpu(); const u1 = process.cpuUsage();
  t = Date.now();
  let n = 0, claims = 0;
  const ok = { outcome: "success" as const, status: 200, error: null, durationMs: 1, responseBody: "" };
  while (n < 20000) {
    const jobs = await q.claimDue(claimSize, { now: Date.now(), leaseMs: 40000, perHookLimit: 8 });
    claims++;
    if (jobs.length === 0) { await q.flush(); continue; }
    for (const j of jobs) q.complete(j, ok);
    n += jobs.length;
  }
  await q.flush();
  console.log(`claim+complete 20k in claims of ${claimSize}:`, Date.now() - t, "ms", claims, "claims; pg cpu ms", cpu() - c0, "node cpu ms", (process.cpuUsage(u1).user + process.cpuUsage(u1).system) / 1000);
  await q.close(); await pool.end();
} finally { await server.stop(); }
