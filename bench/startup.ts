// Start-up and backlog-memory benchmark (npm run bench:startup). On a real Synapse whose rooms are
// made once and cached (bench/startup-world.ts), it starts the compiled bridge and prints:
//  - for a first start (empty store) and a restart (the store knows the hooks): the time to the
//    first answered transaction (an event in the room listed last, pushed from the moment the
//    bridge is spawned), the time until every room's hooks are loaded, the cost per room, and RSS;
//  - the "receivers down" case: `crowded-rooms` rooms × `hooks-per-crowded-room` hooks, every
//    receiver refusing connections, events pushed into those rooms at `failing-rate` events/s for
//    `failing-seconds`: RSS and queue depth sampled as the backlog grows, to show memory bounded.
// "All rooms loaded" counts from the spawn (Node's own start and the homeserver connection
// included); "loading" from the moment /health answers, when the HTTP server listens and loading
// begins. Targets (≤ 1 ms per room, RSS < 300 MB, bounded memory) are reported, never asserted.
//
// Options (CLI --name=value, or env BENCH_NAME): rooms, crowded-rooms, hooks-per-crowded-room,
// failing-rate, failing-seconds, sample-seconds, log-level, store (sqlite, or postgres: the
// delivery queue in a PostgreSQL the benchmark starts, fsync on). BENCH_KEEP=1 keeps the temp dir;
// BENCH_BRIDGE_NODE_OPTIONS adds Node options for the bridge only (e.g. --max-old-space-size=192).
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import * as yaml from "js-yaml";
import { request } from "undici";
import { spawnBridge, type BridgeProcess } from "../spec/harness/bridge-process.js";
import { startPostgres, type PostgresHandle } from "../spec/harness/postgres.js";
import { buildInto } from "../spec/harness/compiled-build.js";
import { freePort, type SynapseHandle } from "../src/demo/synapse.js";
import { Homeserver, syntheticEvent } from "./load.js";
import { bridgeMemory, rssMb, rssParts, withBridgeNodeOptions } from "./setup.js";
import { clock, fmt, fmtInt, sleep, summarize, table } from "./stats.js";
import { copyStartupWorld, startWorldSynapse, type StartupShape, type StartupWorld } from "./startup-world.js";

const DEFAULTS = {
  rooms: 1000, "crowded-rooms": 100, "hooks-per-crowded-room": 100, "failing-rate": 100, "failing-seconds": 120, "sample-seconds": 10, "log-level": "info", store: "sqlite",
} as const;
type Key = keyof typeof DEFAULTS;
const { values: cli } = parseArgs({ options: Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, { type: "string" }])), strict: true });
const opt = (k: Key): string => (cli[k] as string | undefined) ?? process.env[`BENCH_${k.toUpperCase().replace(/-/g, "_")}`] ?? String(DEFAULTS[k]);
const num = (k: Key): number => {
  const n = Number(opt(k));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number ≥ 0 (got ${opt(k)})`);
  return n;
};

const engine = opt("store");
if (engine !== "sqlite" && engine !== "postgres") throw new Error(`--store must be sqlite or postgres (got ${engine})`);
const shape: StartupShape = { rooms: num("rooms"), crowdedRooms: num("crowded-rooms"), hooksPerCrowdedRoom: num("hooks-per-crowded-room") };
if (shape.crowdedRooms > shape.rooms) throw new Error("--crowded-rooms cannot exceed --rooms");
const log = (line: string) => console.error(`[bench] ${line}`);

interface StartFigures {
  label: string;
  firstAnswerMs: number;
  allLoadedMs: number;
  /** From /health answering (the HTTP server listens, loading begins) to all rooms loaded. */
  loadingMs: number;
  rooms: number;
  rssMb: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mwb-startup-bench-"));
  let synapse: SynapseHandle | null = null;
  let bridge: BridgeProcess | null = null;
  let postgres: PostgresHandle | null = null;
  try {
    let postgresUrl: string | null = null;
    if (engine === "postgres") {
      log("starting PostgreSQL (Debian's server, fsync on) in the temp dir");
      postgres = await startPostgres({ durable: true });
      postgresUrl = await postgres.createDatabase("bridge");
    }
    const bridgePort = await freePort();
    const world = await copyStartupWorld(join(dir, "world"), shape, `http://127.0.0.1:${bridgePort}`, log);
    log("compiling the bridge (the benchmark runs the build that ships)");
    const entry = buildInto(join(dir, "build"));
    synapse = await startWorldSynapse(world, log);
    const configPath = join(dir, "config.yaml");
    const storePath = join(dir, "store", "bridge.db");
    await writeFile(configPath, yaml.dump(config(synapse, bridgePort, storePath, postgresUrl)), { mode: 0o600 });
    const totalHooks = shape.crowdedRooms * shape.hooksPerCrowdedRoom + (shape.rooms - shape.crowdedRooms);
    const starts: StartFigures[] = [];
    for (const label of ["first start (empty store)", "restart (store knows the hooks)"]) {
      if (bridge) {
        await bridge.kill("SIGTERM");
        bridge = null;
      }
      const started = await timedStart(label, world, { configPath, entry, port: bridgePort, logPath: join(dir, `bridge-${starts.length}.log`) });
      bridge = started.bridge;
      starts.push(started.figures);
    }
    console.log(`\nStart-up with ${fmtInt(shape.rooms)} rooms (delivery queue: ${engine === "postgres" ? "PostgreSQL" : "SQLite"}) and ${fmtInt(totalHooks)} outbound hooks on a real Synapse (load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
    console.log(table([
      ["start", "first answered transaction", "all rooms loaded", "loading (from listening)", "per room", "per hook", "RSS after loading", "target ≤ 1 ms/room"],
      ...starts.map((s) => [s.label, `${fmtInt(s.firstAnswerMs)} ms`, `${fmtInt(s.allLoadedMs)} ms`, `${fmtInt(s.loadingMs)} ms`, `${fmt(s.loadingMs / s.rooms, 2)} ms`,
        `${fmt((s.loadingMs / totalHooks) * 1000, 0)} µs`, `${fmt(s.rssMb, 0)} MB`, s.loadingMs / s.rooms <= 1 ? "met" : "missed"]),
    ]));
    if (shape.crowdedRooms > 0 && num("failing-seconds") > 0) await receiversDown(bridge!, world);
  } finally {
    await bridge?.kill("SIGTERM").catch(() => undefined);
    await synapse?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    if (process.env.BENCH_KEEP) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

function config(synapse: SynapseHandle, port: number, storePath: string, postgresUrl: string | null): Record<string, unknown> {
  return {
    homeserver: { url: synapse.url, domain: synapse.serverName },
    bridge: { bindAddress: "127.0.0.1", port },
    store: { path: storePath, encryptionKey: randomBytes(32).toString("base64"), ...(postgresUrl ? { engine: "postgres", postgres: { url: postgresUrl } } : {}) },
    delivery: { allowedNetworks: ["127.0.0.1/32"], timeoutSeconds: 10 },
    metrics: { enabled: true },
    logging: { level: opt("log-level") },
  };
}

/**
 * Spawns the bridge and pushes one event into the room listed last from that moment (each try
 * bounded), so the first answer shows when the bridge can take transactions for any room.
 */
async function timedStart(label: string, world: StartupWorld, o: { configPath: string; entry: string; port: number; logPath: string }): Promise<{ bridge: BridgeProcess; figures: StartFigures }> {
  log(`${label}: starting the bridge`);
  const spawnedAt = Date.now();
  const url = `http://127.0.0.1:${o.port}`;
  const lastRoom = world.roomIds[world.roomIds.length - 1]!;
  const firstAnswer = (async () => {
    const deadline = spawnedAt + 600_000;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const event = syntheticEvent("startup", attempt, lastRoom, clock());
      const answered = await request(`${url}/_matrix/app/v1/transactions/startup-${spawnedAt}-${attempt}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${world.registration.hs_token}`, "content-type": "application/json" },
        body: JSON.stringify({ events: [event] }),
        headersTimeout: 600_000,
      }).then((res) => res.body.text().then(() => res.statusCode === 200), () => false);
      if (answered) return Date.now() - spawnedAt;
      await sleep(10);
    }
    throw new Error("the bridge answered no transaction within 10 minutes");
  })();
  const bridge = await withBridgeNodeOptions(() => spawnBridge({ configPath: o.configPath, registrationPath: world.registrationPath, port: o.port, logPath: o.logPath, entry: o.entry, readyTimeoutMs: 600_000 }));
  const healthyAt = Date.now();
  const loaded = await waitForLogLine(o.logPath, "loaded joined rooms", 900_000);
  const figures: StartFigures = {
    label,
    firstAnswerMs: await firstAnswer,
    allLoadedMs: loaded.time - spawnedAt,
    loadingMs: loaded.time - healthyAt,
    rooms: Number(loaded.rooms ?? world.roomIds.length),
    rssMb: await rssMb(bridge.pid),
  };
  log(`${label}: first answer after ${figures.firstAnswerMs} ms, ${figures.rooms} rooms loaded after ${figures.allLoadedMs} ms`);
  return { bridge, figures };
}

/** The first JSON log line whose msg is `msg` (polled, bounded). */
async function waitForLogLine(path: string, msg: string, timeoutMs: number): Promise<{ time: number; rooms?: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(path, "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      if (!line.includes(msg)) continue;
      try {
        const parsed = JSON.parse(line) as { msg?: string; time?: number; rooms?: number };
        if (parsed.msg === msg && typeof parsed.time === "number") return { time: parsed.time, rooms: parsed.rooms };
      } catch {
        // a line still being written
      }
    }
    await sleep(100);
  }
  throw new Error(`"${msg}" did not appear in ${path} within ${timeoutMs} ms (log level must be info or lower)`);
}

/** Events into the crowded rooms, whose receivers are all down, while RSS and queue depth are sampled. */
async function receiversDown(bridge: BridgeProcess, world: StartupWorld): Promise<void> {
  const rate = num("failing-rate");
  const seconds = num("failing-seconds");
  const sampleMs = num("sample-seconds") * 1000;
  const crowded = world.roomIds.slice(0, shape.crowdedRooms);
  const hooks = shape.crowdedRooms * shape.hooksPerCrowdedRoom;
  log(`receivers down: ${rate} events/s into ${crowded.length} rooms (${fmtInt(hooks)} hooks, ${fmtInt(rate * shape.hooksPerCrowdedRoom)} deliveries/s queued) for ${seconds} s`);
  const hs = new Homeserver(bridge.url, world.registration.hs_token, `down-${Date.now()}`);
  const samples: string[][] = [["after", "events sent", "deliveries queued", "queue depth", "RSS", "anonymous / file", "JS heap used / total", "external", "ack p99 (interval)"]];
  const rss: number[] = [];
  const txnSize = Math.max(1, Math.round(rate / 10)); // ten transactions a second
  const intervalMs = (txnSize / rate) * 1000;
  const startedAt = clock();
  let sent = 0;
  let acks: number[] = [];
  let nextSample = startedAt + sampleMs;
  for (let i = 0; clock() - startedAt < seconds * 1000; i++) {
    const wait = startedAt + i * intervalMs - clock();
    if (wait >= 1) await sleep(Math.floor(wait));
    acks.push(await hs.push("down", sent, txnSize, crowded));
    sent += txnSize;
    if (clock() >= nextSample) {
      nextSample += sampleMs;
      const mb = await rssMb(bridge.pid);
      const parts = await rssParts(bridge.pid);
      const heap = await bridgeMemory(bridge.url);
      rss.push(mb);
      samples.push([`${fmt((clock() - startedAt) / 1000, 0)} s`, fmtInt(sent), fmtInt(sent * shape.hooksPerCrowdedRoom), fmtInt(await queueDepth(bridge.url)), `${fmt(mb, 0)} MB`,
        `${fmt(parts.anonymous, 0)} / ${fmt(parts.file, 0)} MB`, `${fmt(heap.heapUsed ?? NaN, 0)} / ${fmt(heap.heapTotal ?? NaN, 0)} MB`, `${fmt(heap.external ?? NaN, 0)} MB`, `${fmt(summarize(acks).p99, 1)} ms`]);
      acks = [];
    }
  }
  await hs.close();
  console.log(`\n${fmtInt(hooks)} hooks whose receivers are all down, ${rate} events/s (${fmtInt(rate * shape.hooksPerCrowdedRoom)} deliveries/s) for ${seconds} s; delivery.heldTotal at its default`);
  console.log(table(samples));
  const half = rss.slice(Math.floor(rss.length / 2));
  const peak = Math.max(...rss);
  const growth = half.length > 1 ? half[half.length - 1]! - half[0]! : NaN;
  console.log(`peak RSS ${fmt(peak, 0)} MB (target < 300 MB: ${peak < 300 ? "met" : "missed"}); RSS change over the second half ${fmt(growth, 0)} MB while the backlog kept growing (bounded: ${Number.isFinite(growth) && growth < 0.1 * peak ? "yes" : "no"})`);
}

async function queueDepth(bridgeUrl: string): Promise<number> {
  const res = await fetch(`${bridgeUrl}/health`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  const body = (await res?.json().catch(() => null)) as { queueDepth?: number } | null;
  return body?.queueDepth ?? NaN;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
