// Pruning benchmark (npx tsx bench/prune.ts [--rows=500000] [--windows=1,0]). Fills a store with
// `rows` finished deliveries older than the retention period (one job, event and attempt per row,
// attempts in batches of 1,000 as the writer stores them), then prunes them while transactions keep
// arriving — 10 events every 10 ms, as in the paced phase of the throughput benchmark — and prints
// how long the prune took and how long enqueueing (the part of a transaction's acknowledgement the
// store decides) took meanwhile. --windows lists the keys per window to try: 1 = the bridge's
// defaults (per table), 0 = each table in one transaction (one window holding every key), as the
// bridge did before pruning moved to the writer thread in windows. Figures only.
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SqliteDeliveryQueue } from "../src/delivery/queue/sqlite-queue.js";
import { openDatabase, type Db } from "../src/store/database.js";
import { WalCheckpointer } from "../src/store/wal-checkpointer.js";
import { fmt, fmtInt, sleep, summarize, table } from "./stats.js";

const { values } = parseArgs({ options: { rows: { type: "string" }, windows: { type: "string" } }, strict: true });
const rows = Number(values.rows ?? 500_000);
const windows = (values.windows ?? "1,0").split(",").map(Number);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got ${values.rows}`);
if (windows.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`--windows must be non-negative integers, got ${values.windows}`);

const DAY = 86_400_000;

/** Old, finished deliveries written straight into the file (the fastest way to get many). */
function fill(db: Db, count: number, at: number): void {
  const message = db.prepare("INSERT INTO messages (event_id, origin_ts, room_id, body, created_at) VALUES (?, ?, '!bench:localhost', ?, ?)");
  const job = db.prepare("INSERT INTO jobs (message_id, hook_id, state, attempts, due_at, created_at, finished_at) VALUES (?, 'ep_bench', 'done', 1, ?, ?, ?)");
  const batch = db.prepare("INSERT INTO attempt_batches (hook_id, at, successes, attempts) VALUES ('ep_bench', ?, ?, ?)");
  const txn = db.prepare("INSERT INTO handled_transactions (txn_id, handled_at) VALUES (?, ?)");
  db.transaction(() => {
    let attempts: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const eventId = `$old${i}`;
      const body = JSON.stringify({ event_id: eventId, type: "m.room.message", content: { msgtype: "m.text", body: `old message ${i}` } });
      const messageId = Number(message.run(eventId, at, body, at).lastInsertRowid);
      const key = Number(job.run(messageId, at, at, at).lastInsertRowid);
      attempts.push([key, eventId, 1, "success", 200, null, 3, "", at]);
      if (attempts.length === 1000 || i === count - 1) {
        batch.run(at, attempts.length, JSON.stringify(attempts));
        attempts = [];
      }
      if (i % 50 === 0) txn.run(`old-${i}`, at);
    }
  })();
}

async function run(windowRows: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "mwb-prune-"));
  const db = openDatabase(join(dir, "bridge.db"));
  // As the bridge runs: WAL checkpoints in their own thread, the queue's writes in the writer's.
  const checkpointer = WalCheckpointer.start(db, { onError: (message) => console.error(`checkpoint: ${message}`) });
  const queue = new SqliteDeliveryQueue(db);
  try {
    const old = Date.now() - 30 * DAY;
    fill(db, rows, old);
    db.pragma("wal_checkpoint(TRUNCATE)");
    const cutoff = Date.now() - 7 * DAY;
    const started = performance.now();
    let pruneMs = NaN;
    const pruning = queue.prune(cutoff, windowRows === 0 ? { window: 2 ** 52 } : windowRows === 1 ? {} : { window: windowRows }).then((n) => {
      pruneMs = performance.now() - started;
      return n;
    });
    // Transactions keep coming while the prune runs (bounded: at most 20 minutes of them).
    const enqueueMs: number[] = [];
    let seq = 0;
    for (let t = 0; Number.isNaN(pruneMs) && t < 120_000; t++) {
      const events = Array.from({ length: 10 }, () => {
        const id = `$new${seq++}`;
        return { eventId: id, originTs: Date.now(), roomId: "!bench:localhost", body: `{"event_id":"${id}"}`, hookIds: ["ep_live"] };
      });
      const sent = performance.now();
      await queue.enqueue(`live-${t}`, events);
      enqueueMs.push(performance.now() - sent);
      await sleep(10);
    }
    const deleted = await pruning;
    const during = summarize(enqueueMs);
    return [
      windowRows === 0 ? "whole table" : windowRows === 1 ? "default" : fmtInt(windowRows),
      fmtInt(deleted),
      fmt(pruneMs / 1000, 2),
      fmtInt(deleted / (pruneMs / 1000)),
      fmtInt(during.n),
      fmt(during.p50, 2),
      fmt(during.p99, 2),
      fmt(during.max, 1),
    ];
  } finally {
    await queue.close();
    await checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [["window (keys)", "rows deleted", "prune s", "rows/s", "enqueues", "p50 ms", "p99 ms", "max ms"]];
for (const windowRows of windows) results.push(await run(windowRows));
console.log(`\nPruning ${fmtInt(rows)} old deliveries while 10-event transactions arrive every 10 ms (Node ${process.version})\n`);
console.log(table(results));
console.log("\n(enqueue = the store's part of a transaction's acknowledgement, measured while the prune ran)");
