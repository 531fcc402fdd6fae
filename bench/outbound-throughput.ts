// Outbound throughput benchmark (npm run bench). Drives the bridge's transaction endpoint as a
// homeserver would — synthetic transactions into N rooms with M hooks each — against a local
// receiver, and prints deliveries/s, the raw undici PUT rate to the same receiver (and the ratio),
// event→PUT latency at a steady rate, transaction acknowledgement times and the bridge's peak RSS,
// for synchronous=NORMAL and synchronous=FULL (hooks sending JSON), and for hookshot-multipart
// (every text event as a multipart body, as Hookshot 7.x sends it) with the first mode, and the
// CPU each process spent per delivery.
// Targets are reported as met/missed, never asserted. The bridge is compiled first and run as
// `node dist/main.js`, as in production.
//
// Options (CLI --name=value, or env BENCH_NAME): rooms, hooks, events, txn-size, rate,
// latency-seconds, latency-txn-size, raw-seconds, concurrency, modes, formats (the first runs in
// every mode, the others in the first mode), slow-ms, slow-seconds,
// warmup-events, log-level, event-ids (random, as in current room versions, or sequential), store
// (sqlite, or postgres: the SQLite runs and then one with the delivery queue in a PostgreSQL
// started for the run, fsync on, beside them), pg-workers (with store postgres: the PostgreSQL runs,
// by worker processes, 0 being one process with role all; default 0,2), sqlite-runs (yes, or no:
// only the PostgreSQL runs); e.g. `npm run bench -- --events=20000 --modes=NORMAL`,
// `npm run bench -- --store postgres` or `npm run bench -- --store postgres --sqlite-runs=no --pg-workers=2`.
// BENCH_PG_SETTINGS adds lines to that PostgreSQL's configuration, ";" between them (e.g.
// "shared_preload_libraries = 'auto_explain'; auto_explain.log_min_duration = 1000").
// BENCH_CPU_PROF=<dir> makes the bridge write CPU profiles there (read them with
// `npx tsx bench/cpu-profile-summary.ts <file>`); BENCH_BRIDGE_NODE_OPTIONS adds Node options for
// the bridge; BENCH_KEEP=1 keeps the temp dir (bridge.log, Synapse's log).
// The machine should be otherwise idle: the load average is printed with the figures.
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BridgeProcess } from "../spec/harness/bridge-process.js";
import type { SynapseHandle } from "../src/demo/synapse.js";
import { cpuMark, cpuPerUnit } from "./cpu.js";
import { Homeserver, pushBurst, pushPaced, rawPutRate, type EventIdStyle } from "./load.js";
import { ReceiverHandle } from "./receiver-handle.js";
import { bridgeConfig, bridgeGc, bridgeMemory, gcBetween, clearQueue, createRoomsAndHooks, launchBridge, rssMb, startWorld, waitUntilDelivering, withPostgres, type SyncMode, type World } from "./setup.js";
import { fmt, fmtInt, table, type Summary } from "./stats.js";
import { startPostgres, type PostgresHandle } from "../spec/harness/postgres.js";
import { freePort } from "../src/demo/synapse.js";
import pg from "pg";
import { OUTBOUND_FORMATS, type OutboundFormat } from "../src/outbound/formats/format-names.js";

const DEFAULTS = {
  rooms: 10, hooks: 2, events: 50_000, "txn-size": 50, rate: 1000, "latency-seconds": 10, "latency-txn-size": 10,
  "raw-seconds": 5, concurrency: 32, modes: "NORMAL,FULL", formats: "hookshot,hookshot-multipart", "slow-ms": 200, "slow-seconds": 3, "warmup-events": 2000, "log-level": "warn", "event-ids": "random", store: "sqlite",
  "pg-workers": "0,2", "sqlite-runs": "yes",
} as const;
type Key = keyof typeof DEFAULTS;

const { values: cli } = parseArgs({ options: Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, { type: "string" }])), strict: true });
const raw = (key: Key): string => String(cli[key] ?? process.env[`BENCH_${key.toUpperCase().replaceAll("-", "_")}`] ?? DEFAULTS[key]);
const int = (key: Key): number => {
  const n = Number(raw(key));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a non-negative integer, got "${raw(key)}"`);
  return n;
};
const opts = {
  rooms: Math.max(1, int("rooms")), hooks: Math.max(1, int("hooks")), events: Math.max(1, int("events")), txnSize: Math.max(1, int("txn-size")),
  rate: Math.max(1, int("rate")), latencySeconds: int("latency-seconds"), latencyTxnSize: Math.max(1, int("latency-txn-size")),
  rawSeconds: Math.max(1, int("raw-seconds")), concurrency: Math.max(1, int("concurrency")), slowMs: int("slow-ms"), slowSeconds: int("slow-seconds"),
  warmupEvents: int("warmup-events"), logLevel: raw("log-level"), eventIds: raw("event-ids") as EventIdStyle,
  modes: raw("modes").split(",").map((m) => m.trim().toUpperCase()).filter(Boolean) as SyncMode[],
  formats: raw("formats").split(",").map((f) => f.trim()).filter(Boolean) as OutboundFormat[],
  store: raw("store"),
  pgWorkers: raw("pg-workers").split(",").map((w) => w.trim()).filter(Boolean).map(Number),
  sqliteRuns: raw("sqlite-runs"),
};
if (opts.store !== "sqlite" && opts.store !== "postgres") throw new Error(`store: "${opts.store}" is neither sqlite nor postgres`);
for (const f of opts.formats) if (!(OUTBOUND_FORMATS as readonly string[]).includes(f)) throw new Error(`formats: "${f}" is not one of ${OUTBOUND_FORMATS.join(", ")}`);
if (opts.modes.length === 0 || opts.formats.length === 0) throw new Error("modes and formats need at least one entry each");
if (opts.pgWorkers.some((w) => !Number.isInteger(w) || w < 0 || w > 8)) throw new Error(`pg-workers: "${raw("pg-workers")}" is not a list of worker counts from 0 to 8`);
if (opts.sqliteRuns !== "yes" && opts.sqliteRuns !== "no") throw new Error(`sqlite-runs: "${opts.sqliteRuns}" is neither yes nor no`);
if (opts.sqliteRuns === "no" && opts.store !== "postgres") throw new Error("sqlite-runs=no leaves nothing to run without --store postgres");

/** One bridge run: a store mode and the format the hooks encode with (delivery.defaultFormat). */
interface Run {
  mode: SyncMode;
  /** Where the delivery queue is: the SQLite file (in `mode`), or PostgreSQL. */
  engine: "sqlite" | "postgres";
  format: OutboundFormat;
  /** The row's name; text events go out as JSON in the hookshot format. */
  label: string;
  /** Letters only: it goes into event ids, which the receiver splits at "." and "_". */
  tag: string;
  /** 0: one process (role all); n: an appservice process and n worker processes (--role). */
  workers: number;
}
const runOf = (mode: SyncMode, format: OutboundFormat, engine: Run["engine"] = "sqlite", workers = 0): Run => ({
  mode, format, engine, workers,
  label: `${engine === "postgres" ? "PostgreSQL" : mode} ${format === "hookshot" ? "JSON" : format}${workers > 0 ? `, ${workers} workers` : ""}`,
  tag: `${engine === "postgres" ? "PG" : mode}${format === "hookshot" ? "" : format.replace(/[^A-Za-z]/g, "")}${workers > 0 ? "W".repeat(workers) : ""}`,
});
const runs: Run[] = [
  ...(opts.sqliteRuns === "yes" ? [...opts.modes.map((m) => runOf(m, opts.formats[0]!)), ...opts.formats.slice(1).map((f) => runOf(opts.modes[0]!, f))] : []),
  ...(opts.store === "postgres" ? opts.pgWorkers.map((w) => runOf("NORMAL", opts.formats[0]!, "postgres", w)) : []),
];
if (opts.eventIds !== "random" && opts.eventIds !== "sequential") throw new Error(`event-ids: "${opts.eventIds}" is neither random nor sequential`);
for (const m of opts.modes) if (m !== "NORMAL" && m !== "FULL") throw new Error(`modes: "${m}" is neither NORMAL nor FULL`);

interface ModeResult {
  mode: SyncMode;
  workers: number;
  engine: Run["engine"];
  format: OutboundFormat;
  label: string;
  rawPerSecond: number;
  rawRuns: number[];
  deliveriesPerSecond: number;
  deliveries: number;
  expected: number;
  ingestPerSecond: number;
  burstAck: Summary;
  latency: Summary | null;
  pacedAck: Summary | null;
  pacedRate: number;
  slowAck: Summary | null;
  peakRssMb: number;
  startRssMb: number;
  afterBurst: Record<string, number>;
  /** CPU µs per delivery during the burst (bridge, receiver, load generator) and per raw PUT (client, receiver). */
  burstCpu: Record<string, number>;
  rawCpu: Record<string, number>;
  /** The bridge main thread's collections during the paced phase (its pauses delay acknowledgements). */
  pacedGc: string;
}

let workDir: string | null = null;
let interrupted = false;
// Other work on this machine skews every figure: the load average is printed with them.
const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(" ");
const log = (line: string) => console.error(`[bench] ${line}`);
const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: cleaning up`);
    void cleanup().then(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

async function runMode(world: World, receiver: ReceiverHandle, roomIds: string[], run: Run): Promise<ModeResult> {
  const { mode, format, label, tag: runTag, engine } = run;
  const settings = { synchronous: mode, concurrency: opts.concurrency, logLevel: opts.logLevel, format, postgresUrl: engine === "postgres" ? world.postgresUrl : undefined };
  log(`${label}: starting the bridge`);
  let bridge: BridgeProcess | null = await launchBridge(world, { ...settings, ...(run.workers > 0 ? { role: "appservice" as const } : {}) });
  // Worker processes, each with the whole delivery.concurrency, on ports of their own.
  let workers: BridgeProcess[] = [];
  for (let i = 0; i < run.workers; i++) workers.push(await launchBridge(world, { ...settings, role: "worker", port: await freePort() }));
  const stopBridge = async () => {
    const b = bridge;
    const w = workers;
    bridge = null;
    workers = [];
    await Promise.all([b?.kill("SIGTERM"), ...w.map((p) => p.kill("SIGTERM"))]);
  };
  cleanups.push(stopBridge);
  const hs = new Homeserver(bridge.url, world.hsToken, `bench-${runTag}-${randomBytes(4).toString("hex")}`, opts.eventIds);
  try {
    await waitUntilDelivering(hs, receiver, roomIds, opts.hooks);
    const startRssMb = await rssMb(bridge.pid);
    const wait = (tag: string, count: number, ms: number) => receiver.waitFor(tag, count, ms);
    if (opts.warmupEvents > 0) {
      await pushBurst(hs, `warm${runTag}`, opts.warmupEvents, opts.txnSize, roomIds);
      await wait(`warm${runTag}`, opts.warmupEvents * opts.hooks, 60_000);
    }

    // The raw rate is taken before and after the burst (this machine's figures drift); the mean counts.
    const rawRuns: number[] = [];
    let rawCpu: Record<string, number> = {};
    const measureRaw = async () => {
      log(`${label}: raw undici PUTs to the receiver for ${opts.rawSeconds} s`);
      const before = await cpuMark({ receiver: receiver.pid });
      const result = await rawPutRate(receiver.url, { seconds: opts.rawSeconds, inFlight: opts.concurrency, eventIds: opts.eventIds });
      rawCpu = cpuPerUnit(before, await cpuMark({ receiver: receiver.pid }), result.requests + result.warmupRequests);
      rawRuns.push(result.perSecond);
    };
    await measureRaw();

    const expected = opts.events * opts.hooks;
    log(`${label}: ${opts.events} events in transactions of ${opts.txnSize} (${expected} deliveries)`);
    const trees: Record<string, number> = engine === "postgres" && world.postgresPid ? { postgres: world.postgresPid } : {};
    const processes = { bridge: bridge.pid, receiver: receiver.pid, ...Object.fromEntries(workers.map((w, i) => [`worker${i}`, w.pid])) };
    const cpuBefore = await cpuMark(processes, trees);
    if (engine === "postgres" && process.env.BENCH_PG_STATEMENTS) await resetStatements(world);
    const horizon = engine === "postgres" && process.env.BENCH_PG_STATEMENTS ? await watchSnapshots(world) : null;
    const burst = await pushBurst(hs, `tput${runTag}`, opts.events, opts.txnSize, roomIds);
    const got = await wait(`tput${runTag}`, expected, 300_000);
    const burstCpu = cpuPerUnit(cpuBefore, await cpuMark(processes, trees), got.count);
    if (horizon) log(`${label}: ${await horizon.stop()}`);
    // The bridge's CPU is that of all its processes; the appservice process's own is kept beside it.
    if (workers.length > 0) {
      burstCpu.appservice = burstCpu.bridge!;
      burstCpu.bridge = workers.reduce((sum, _, i) => sum + (burstCpu[`worker${i}`] ?? 0), burstCpu.bridge!);
    }
    if (got.count < expected) log(`${label}: only ${got.count} of ${expected} deliveries arrived within 5 minutes`);
    const deliveriesPerSecond = got.count / ((got.last - burst.startedAt) / 1000);
    const afterBurst = await bridgeMemory(bridge.url);
    await receiver.forget(`tput${runTag}`);
    await measureRaw();

    let latency: Summary | null = null;
    let pacedAck: Summary | null = null;
    let pacedRate = NaN;
    let pacedGc = "not measured";
    if (opts.latencySeconds > 0) {
      log(`${label}: ${opts.rate} events/s for ${opts.latencySeconds} s`);
      const gcBefore = await bridgeGc(bridge.url);
      const paced = await pushPaced(hs, `lat${runTag}`, opts.rate, opts.latencySeconds, opts.latencyTxnSize, roomIds);
      const stats = await wait(`lat${runTag}`, paced.events * opts.hooks, 60_000);
      latency = stats.latency;
      await receiver.forget(`lat${runTag}`);
      pacedAck = paced.ack;
      pacedRate = paced.events / (paced.elapsedMs / 1000);
      pacedGc = gcBetween(gcBefore, await bridgeGc(bridge.url));
    }

    let slowAck: Summary | null = null;
    if (opts.slowSeconds > 0 && opts.slowMs > 0) {
      log(`${label}: the receiver answers after ${opts.slowMs} ms; ${opts.rate} events/s for ${opts.slowSeconds} s`);
      await receiver.setDelay(opts.slowMs);
      try {
        const slow = await pushPaced(hs, `slow${runTag}`, opts.rate, opts.slowSeconds, opts.latencyTxnSize, roomIds);
        slowAck = slow.ack;
      } finally {
        await receiver.setDelay(0);
      }
      await wait(`slow${runTag}`, Math.round(opts.rate * opts.slowSeconds) * opts.hooks, 120_000);
    }

    if (engine === "postgres" && process.env.BENCH_PG_STATEMENTS) await printTopStatements(world);
    // All of the bridge's processes together.
    const peakRssMb = (await Promise.all([bridge, ...workers].map((p) => p.peakRssBytes()))).reduce((a, b) => a + b, 0) / 1024 / 1024;
    return {
      mode, engine, format, label, workers: run.workers, rawPerSecond: rawRuns.reduce((a, b) => a + b, 0) / rawRuns.length, rawRuns, deliveriesPerSecond, deliveries: got.count, expected,
      ingestPerSecond: burst.events / (burst.elapsedMs / 1000), burstAck: burst.ack, latency, pacedAck, pacedRate, slowAck, peakRssMb, startRssMb, afterBurst, burstCpu, rawCpu, pacedGc,
    };
  } finally {
    await hs.close();
    await stopBridge();
    await clearQueue(world, engine);
  }
}

/**
 * The oldest snapshot any session held during the burst (BENCH_PG_STATEMENTS=1), sampled every
 * 200 ms: a transaction open for long keeps every dead row version it might see, so vacuum and
 * the claims' own pruning cannot drop them, and every scan of the jobs reads them again. For that
 * transaction: how long its statement had run, and what it waited on in each sample that saw it.
 */
async function watchSnapshots(world: World): Promise<{ stop(): Promise<string> }> {
  interface Sample { pid: number; xact: string; xids: number; ms: number; statementMs: number; state: string; waiting: string; query: string }
  const client = new pg.Client({ connectionString: world.postgresUrl });
  await client.connect();
  let worst: Sample | null = null;
  // What each transaction seen was doing, by "pid xact_start": wait event → samples.
  const doing = new Map<string, Map<string, number>>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    for (let i = 0; running && i < 3_000; i++) {
      const { rows } = await client.query<Sample>(
        "SELECT pid, xact_start::text AS xact, age(backend_xmin)::int AS xids, (extract(epoch FROM now() - xact_start) * 1000)::int AS ms, " +
        "(extract(epoch FROM now() - query_start) * 1000)::int AS \"statementMs\", coalesce(state, '') AS state, " +
        "coalesce(wait_event_type || ':' || wait_event, 'not waiting') AS waiting, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query " +
        "FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() ORDER BY age(backend_xmin) DESC LIMIT 3",
      );
      samples++;
      for (const row of rows) {
        const key = `${row.pid} ${row.xact}`;
        const seen = doing.get(key) ?? new Map<string, number>();
        const what = `${row.state}, ${row.waiting}`;
        seen.set(what, (seen.get(what) ?? 0) + 1);
        if (!doing.has(key) && doing.size < 10_000) doing.set(key, seen);
      }
      const row = rows[0];
      if (row && (!worst || row.xids > worst.xids)) worst = row;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      await client.end();
      const w = worst as Sample | null;
      if (!w) return `no snapshot held in ${samples} samples`;
      const seen = [...(doing.get(`${w.pid} ${w.xact}`) ?? new Map<string, number>())].map(([what, n]) => `${n} × ${what}`).join("; ");
      return `oldest snapshot in ${samples} samples: ${w.xids} transactions behind, its transaction open ${w.ms} ms, its statement ${w.statementMs} ms ` +
        `(${w.state}, ${w.waiting}: ${w.query}); that transaction in the samples: ${seen}`;
    },
  };
}

/** Forgets the statement statistics so far (BENCH_PG_STATEMENTS=1): each run's are its own burst and paced phase. */
async function resetStatements(world: World): Promise<void> {
  await withPostgres(world, async (client) => {
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await client.query("SELECT pg_stat_statements_reset()");
  });
}

/** The statements that cost the PostgreSQL server most during the run's burst and paced phase (BENCH_PG_STATEMENTS=1). */
async function printTopStatements(world: World): Promise<void> {
  await withPostgres(world, async (client) => {
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    const { rows } = await client.query<{ calls: string; total: number; mean: number; rows: string; query: string }>(
      "SELECT calls, round(total_exec_time::numeric, 1)::float AS total, round(mean_exec_time::numeric, 3)::float AS mean, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12",
    );
    log("PostgreSQL statements of this run's burst and paced phase, by total time (ms):");
    for (const r of rows) log(`  ${r.total} ms, ${r.calls} calls, ${r.mean} ms each, ${r.rows} rows: ${r.query}`);
    // Dead row versions and vacuums so far (cumulative over the benchmark's runs: compare them).
    const tables = await client.query<Record<string, string>>(
      "SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, autovacuum_count, vacuum_count, autoanalyze_count FROM pg_stat_user_tables WHERE relname IN ('jobs', 'messages') ORDER BY relname",
    );
    for (const t of tables.rows) log(`  table ${t.relname}: live ${t.n_live_tup}, dead ${t.n_dead_tup}, updates ${t.n_tup_upd} (HOT ${t.n_tup_hot_upd}), autovacuums ${t.autovacuum_count}, vacuums ${t.vacuum_count}, autoanalyzes ${t.autoanalyze_count}`);
  });
}

function report(world: World, results: ModeResult[], seconds: number): void {
  const cpu = cpus();
  const config = bridgeConfig(world, { synchronous: "NORMAL", concurrency: opts.concurrency, logLevel: opts.logLevel }) as { store: Record<string, unknown>; delivery: Record<string, unknown> };
  const shown = { ...config, store: { ...config.store, encryptionKey: "(random)", synchronous: opts.modes.join(" | ") }, delivery: { ...config.delivery, defaultFormat: opts.formats.join(" | ") } };
  console.log("\nOutbound throughput benchmark");
  console.log(`Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model ?? "unknown"}), ${process.platform}`);
  console.log(`Rooms ${opts.rooms} × hooks ${opts.hooks}; throughput: ${opts.events} events in transactions of ${opts.txnSize}; ` +
    `latency: ${opts.rate} events/s for ${opts.latencySeconds} s in transactions of ${opts.latencyTxnSize}; ` +
    `slow receiver: +${opts.slowMs} ms for ${opts.slowSeconds} s; raw: ${opts.rawSeconds} s, ${opts.concurrency} in flight; event ids: ${opts.eventIds}`);
  console.log(`Bridge config: ${JSON.stringify(shown)}\n`);
  const rows = [["mode, format", "deliveries/s", "raw PUT/s", "ratio", "p50 ev→PUT ms", "p99 ev→PUT ms", "p99 ack ms", "peak RSS MB"]];
  for (const r of results) {
    rows.push([r.label, fmtInt(r.deliveriesPerSecond), fmtInt(r.rawPerSecond), fmt(r.deliveriesPerSecond / r.rawPerSecond, 2),
      fmt(r.latency?.p50 ?? NaN), fmt(r.latency?.p99 ?? NaN), fmt(r.pacedAck?.p99 ?? NaN, 2), fmt(r.peakRssMb, 0)]);
  }
  console.log(table(rows));
  console.log("(latency and ack columns: the paced phase; ack = the homeserver's PUT until 200)\n");
  for (const r of results) {
    console.log(`${r.label}: raw PUT/s before and after the burst: ${r.rawRuns.map(fmtInt).join(", ")}; ${r.deliveries}/${r.expected} deliveries; transactions acknowledged at ${fmtInt(r.ingestPerSecond)} events/s ` +
      `(ack p50 ${fmt(r.burstAck.p50, 2)} / p99 ${fmt(r.burstAck.p99, 2)} ms under full load); paced phase reached ${fmtInt(r.pacedRate)} events/s, ` +
      `ack p50 ${fmt(r.pacedAck?.p50 ?? NaN, 2)} ms, latency max ${fmt(r.latency?.max ?? NaN)} ms; slow receiver: ack p99 ${fmt(r.slowAck?.p99 ?? NaN, 2)} ms, max ${fmt(r.slowAck?.max ?? NaN, 2)} ms`);
    const c = r.burstCpu;
    console.log(`${" ".repeat(r.label.length)}  CPU per delivery in the burst: bridge ${fmt(c.bridge ?? NaN)} µs (all threads${c.appservice !== undefined ? `, all processes; the appservice process ${fmt(c.appservice)} µs` : ""}), receiver ${fmt(c.receiver ?? NaN)} µs, ` +
      `load generator ${fmt(c.self ?? NaN)} µs${c.postgres !== undefined ? `, PostgreSQL server ${fmt(c.postgres)} µs` : ""}; per raw PUT: client ${fmt(r.rawCpu.self ?? NaN)} µs, receiver ${fmt(r.rawCpu.receiver ?? NaN)} µs`);
    const m = r.afterBurst;
    console.log(`${" ".repeat(r.label.length)}  memory: RSS ${fmt(r.startRssMb, 0)} MB after start; after the burst RSS ${fmt(m.rss ?? NaN, 0)} MB, ` +
      `V8 heap ${fmt(m.heapUsed ?? NaN, 0)} used / ${fmt(m.heapTotal ?? NaN, 0)} MB, external ${fmt(m.external ?? NaN, 0)} MB; peak ${fmt(r.peakRssMb, 0)} MB`);
    console.log(`${" ".repeat(r.label.length)}  main-thread garbage collections in the paced phase (count × mean pause): ${r.pacedGc}`);
  }
  console.log("\nTargets:");
  const mark = (ok: boolean) => (ok ? "met   " : "MISSED");
  const json = results.filter((r) => r.format === opts.formats[0] && r.engine === "sqlite");
  const normal = json.find((r) => r.mode === "NORMAL");
  if (normal) console.log(`  ${mark(normal.deliveriesPerSecond / normal.rawPerSecond >= 0.6)} NORMAL durable path ≥ 0.6 × raw PUT rate: ${fmt(normal.deliveriesPerSecond / normal.rawPerSecond, 2)}`);
  const full = json.find((r) => r.mode === "FULL");
  for (const r of results.filter((r) => r.format === "hookshot-multipart")) {
    console.log(`  ${mark(r.deliveriesPerSecond / r.rawPerSecond >= 0.5)} ${r.label} (text events as multipart) ≥ 0.5 × raw PUT rate: ${fmt(r.deliveriesPerSecond / r.rawPerSecond, 2)}`);
  }
  if (full) console.log(`  (info) FULL durable path: ${fmt(full.deliveriesPerSecond / full.rawPerSecond, 2)} × raw (the bare sketch reached 0.37)`);
  for (const r of results.filter((r) => r.engine === "postgres")) {
    console.log(`  ${mark(r.deliveriesPerSecond / r.rawPerSecond >= 0.4)} ${r.label}${r.workers === 0 ? ", one process" : ""} ≥ 0.4 × raw PUT rate: ${fmt(r.deliveriesPerSecond / r.rawPerSecond, 2)}`);
    if (r.pacedAck) console.log(`  ${mark(r.pacedAck.p99 < 10)} ${r.label} p99 transaction ack < 10 ms at ${opts.rate} events/s: ${fmt(r.pacedAck.p99, 2)} ms`);
    // The same machine's SQLite figure, for scale: a slow or busy machine lowers both.
    if (normal && r.format === normal.format) console.log(`  (info) ${r.label}: ${fmt((r.deliveriesPerSecond / r.rawPerSecond) / (normal.deliveriesPerSecond / normal.rawPerSecond), 2)} of SQLite NORMAL's ratio in this run`);
  }
  for (const r of results) {
    if (r.latency) console.log(`  ${mark(r.latency.p99 < 10)} ${r.label} p99 event→PUT < 10 ms at ${opts.rate} events/s: ${fmt(r.latency.p99)} ms`);
    // At the paced rate, with the receiver answering at once and answering slowly; the
    // saturating burst is shown for information (acks then share the CPU with delivery).
    const acks = [r.pacedAck, r.slowAck].filter((s): s is Summary => s !== null);
    const worst = acks.length > 0 ? Math.max(...acks.map((s) => s.p99)) : NaN;
    if (acks.length > 0 && r.engine === "sqlite") console.log(`  ${mark(worst < 5)} ${r.label} p99 transaction ack < 5 ms whatever the endpoints do: worst p99 ${fmt(worst, 2)} ms ` +
      `(paced ${fmt(r.pacedAck?.p99 ?? NaN, 2)}, slow receiver ${fmt(r.slowAck?.p99 ?? NaN, 2)}; under a saturating burst: ${fmt(r.burstAck.p99, 2)})`);
  }
  console.log(`\nRun time ${fmt(seconds, 0)} s; load average at start ${loadAtStart}, at the end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "mwb-bench-"));
  workDir = dir;
  cleanups.push(async () => {
    if (process.env.BENCH_KEEP) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });
  let synapse: SynapseHandle | null = null;
  cleanups.push(async () => void (await synapse?.stop()));
  let postgres: PostgresHandle | null = null;
  cleanups.push(async () => void (await postgres?.stop()));
  const world = await startWorld(dir, log, (s) => (synapse = s));
  if (opts.store === "postgres") {
    log("starting PostgreSQL (Debian's server, fsync on) in the temp dir");
    // BENCH_PG_STATEMENTS=1: the server keeps statement statistics, printed after the PostgreSQL run (needs postgresql-contrib).
    const extra = (process.env.BENCH_PG_SETTINGS ?? "").split(";").map((l) => l.trim()).filter(Boolean);
    postgres = await startPostgres({ durable: true, settings: [...(process.env.BENCH_PG_STATEMENTS ? ["shared_preload_libraries = 'pg_stat_statements'"] : []), ...extra] });
    world.postgresUrl = await postgres.createDatabase("bridge");
    world.postgresPid = await postgres.pid();
  }
  const receiver = await ReceiverHandle.start();
  cleanups.push(() => receiver.stop());

  log("setting up rooms and hooks");
  const setupBridge = await launchBridge(world, { synchronous: "NORMAL", concurrency: opts.concurrency, logLevel: opts.logLevel });
  cleanups.push(() => setupBridge.kill("SIGTERM"));
  const { roomIds } = await createRoomsAndHooks(world, receiver.url, opts.rooms, opts.hooks);
  await setupBridge.kill("SIGTERM");
  await clearQueue(world, "sqlite");

  const results: ModeResult[] = [];
  for (const run of runs) results.push(await runMode(world, receiver, roomIds, run));
  report(world, results, (Date.now() - started) / 1000);
}

main().then(
  () => cleanup(),
  async (err: unknown) => {
    if (interrupted) return; // the signal handler cleans up and exits
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (workDir) {
      const bridgeLog = await readFile(join(workDir, "bridge.log"), "utf8").catch(() => "");
      if (bridgeLog) console.error(`bridge.log (last lines):\n${bridgeLog.trimEnd().split("\n").slice(-30).join("\n")}`);
    }
    await cleanup();
    process.exitCode = 1;
  },
);
