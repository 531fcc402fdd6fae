// The PostgreSQL delivery queue alone (npm run bench:pg-queue): no bridge, Synapse or receiver,
// so that what the server costs per delivery can be compared between versions of the queue on a
// noisy machine. A PostgreSQL the benchmark starts (Debian's server, fsync on, in a temp dir)
// gets `transactions` homeserver transactions of 50 events for 2 of 20 hooks each (stored 4 at a
// time), while a worker claims 32 at a time (8 per hook at most) and reports each a success.
// Prints deliveries/s and the CPU per delivery of the server (the postmaster and its backends)
// and of this process, for each of `runs` runs on a fresh database, in both ways the bridge
// opens the queue: shared (processes with split roles: every job claimed) and alone (role all:
// a transaction's jobs leased as they are stored, sent from memory).
//
// Options (CLI --name=value, or env BENCH_NAME): transactions (400), runs (3).
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { loadavg } from "node:os";
import { startPostgres } from "../spec/harness/postgres.js";
import { PostgresDeliveryQueue } from "../src/delivery/queue/postgres-queue.js";
import type { OutboundMessage } from "../src/delivery/queue/queue.js";
import { openPgStore } from "../src/store/postgres/pg-store.js";
import { ownCpuSeconds, treeCpuSeconds } from "./cpu.js";
import { wholeNumberOptions } from "./whole-number-options.js";
import { fmt, fmtInt, sleep, table } from "./stats.js";

const num = wholeNumberOptions({ transactions: 400, runs: 3 });
const log = (line: string) => console.error(`[bench] ${line}`);
const HOOKS = Array.from({ length: 20 }, (_, i) => `ep_${i}`);

interface RunFigures {
  perSecond: number;
  serverUs: number;
  clientUs: number;
  /** Index entries read per delivery, by index (which access paths the server's plans took). */
  indexReads: Map<string, number>;
}

type Mode = "shared" | "alone";

async function run(url: string, postmaster: number, transactions: number, mode: Mode): Promise<RunFigures> {
  const pool = await openPgStore({ url, poolSize: 10 });
  const queue = await PostgresDeliveryQueue.open(pool, mode === "alone" ? { url, exclusive: true, leaseOnStore: { jobs: 100_000, bytes: 128 << 20, perHook: 4000 } } : { url, shared: true });
  try {
    const total = transactions * 100;
    let n = 0;
    let done = 0;
    const message = (): OutboundMessage => {
      n++;
      return { eventId: `$ev${n}`, originTs: 1_700_000_000_000 + n, roomId: `!r${n % 10}:x`, body: JSON.stringify({ type: "m.room.message", content: { body: "x".repeat(200) }, n }), hookIds: [HOOKS[n % 10]!, HOOKS[10 + (n % 10)]!] };
    };
    // As the bridge's worker does at start: a claim says which hooks it takes (alone, the jobs of a
    // transaction stored after it are leased as they are stored).
    await queue.claimDue(32, { now: Date.now(), leaseMs: 60_000, perHookLimit: 8 });
    const serverBefore = await treeCpuSeconds(postmaster);
    const clientBefore = ownCpuSeconds();
    const started = performance.now();
    const producer = (async () => {
      for (let t = 0; t < transactions; t += 4) {
        await Promise.all(Array.from({ length: Math.min(4, transactions - t) }, (_, i) => {
          const messages = Array.from({ length: 50 }, message);
          return queue.storeTransaction({ txnId: `t${t + i}`, eventIds: messages.map((m) => m.eventId), messages, followUps: [] });
        }));
      }
    })();
    const consumer = (async () => {
      // Bounded: every round either takes jobs or waits 2 ms, and the whole run at most 10 minutes.
      const deadline = Date.now() + 600_000;
      while (done < total && Date.now() < deadline) {
        const jobs = await queue.claimDue(32, { now: Date.now(), leaseMs: 60_000, perHookLimit: 8 });
        if (jobs.length === 0) {
          await sleep(2);
          continue;
        }
        for (const job of jobs) queue.complete(job, { outcome: "success", status: 200, error: null, durationMs: 2, responseBody: "" });
        done += jobs.length;
      }
      if (done < total) throw new Error(`only ${done} of ${total} deliveries in 10 minutes`);
    })();
    await Promise.all([producer, consumer]);
    await queue.flush();
    const seconds = (performance.now() - started) / 1000;
    const figures = { perSecond: done / seconds, serverUs: ((await treeCpuSeconds(postmaster)) - serverBefore) / done * 1e6, clientUs: (ownCpuSeconds() - clientBefore) / done * 1e6 };
    // The statistics collector reports a little after the fact.
    await sleep(1000);
    const { rows } = await pool.query<{ name: string; read: number }>("SELECT indexrelname AS name, idx_tup_read::float8 AS read FROM pg_stat_user_indexes WHERE relname IN ('jobs', 'messages') ORDER BY idx_tup_read DESC");
    return { ...figures, indexReads: new Map(rows.map((r) => [r.name, r.read / done])) };
  } finally {
    await queue.close();
    await pool.end();
  }
}

async function main(): Promise<void> {
  const transactions = num("transactions");
  const runs = num("runs");
  log("starting PostgreSQL (Debian's server, fsync on) in a temp dir");
  const postgres = await startPostgres({ durable: true });
  try {
    const postmaster = await postgres.pid();
    const rows: string[][] = [["run", "queue", "deliveries", "deliveries/s", "server CPU per delivery", "this process's CPU per delivery", "index entries read per delivery (top 3)"]];
    for (let i = 1; i <= runs; i++) {
      for (const mode of ["shared", "alone"] as const) {
        log(`run ${i} of ${runs}, ${mode}: ${fmtInt(transactions * 100)} deliveries on a fresh database`);
        const r = await run(await postgres.createDatabase(`queue_${i}_${mode}`), postmaster, transactions, mode);
        const reads = [...r.indexReads].slice(0, 3).map(([name, n]) => `${name} ${fmt(n, 1)}`).join(", ");
        rows.push([String(i), mode, fmtInt(transactions * 100), fmtInt(r.perSecond), `${fmt(r.serverUs, 1)} µs`, `${fmt(r.clientUs, 1)} µs`, reads]);
      }
    }
    console.log(`\nThe PostgreSQL delivery queue alone (load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
    console.log(table(rows));
  } finally {
    await postgres.stop();
  }
}

main().catch((err: unknown) => {
  console.error("bench failed:", err);
  process.exitCode = 1;
});
