// The benchmark's world: a throwaway Synapse, the bridge as a child process (with its
// registration, config and store in a temp dir), N rooms with the bot and M hooks each.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import * as yaml from "js-yaml";
import { spawnBridge, type BridgeProcess } from "../spec/harness/bridge-process.js";
import { buildInto } from "../spec/harness/compiled-build.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { DEFAULT_OUTBOUND_FORMAT, type OutboundFormat } from "../src/outbound/formats/format-names.js";
import { botNotice, roomWithBot } from "../src/demo/demo-room.js";
import { freePort, startSynapse, type SynapseHandle } from "../src/demo/synapse.js";
import { TestClient } from "../src/demo/test-client.js";
import { generateRegistration, writeRegistrationFile } from "../src/matrix/registration.js";
import type { Homeserver } from "./load.js";
import type { ReceiverHandle } from "./receiver-handle.js";
import { sleep } from "./stats.js";

export type SyncMode = "NORMAL" | "FULL";

export interface World {
  dir: string;
  /** The compiled bridge (dist/main.js) the benchmark runs, as production does. */
  entry: string;
  synapse: SynapseHandle;
  bridgePort: number;
  registrationPath: string;
  hsToken: string;
  botUserId: string;
  storePath: string;
  encryptionKey: string;
  /** The PostgreSQL database runs with the PostgreSQL engine use (set by the benchmark that starts it). */
  postgresUrl?: string;
  /** Its server's main process, whose CPU (with its backends') the benchmark counts. */
  postgresPid?: number;
}

export async function startWorld(dir: string, log: (line: string) => void, track: (synapse: SynapseHandle) => void): Promise<World> {
  log("compiling the bridge (the benchmark runs the build that ships, not the sources)");
  const entry = buildInto(join(dir, "build"));
  const bridgePort = await freePort();
  const registrationPath = join(dir, "registration.yaml");
  const registration = generateRegistration({ url: `http://127.0.0.1:${bridgePort}` });
  await writeRegistrationFile(registrationPath, registration);
  const synapse = await startSynapse({ dataDir: join(dir, "synapse"), appserviceRegistrationFiles: [registrationPath], log });
  track(synapse);
  return {
    dir,
    entry,
    synapse,
    bridgePort,
    registrationPath,
    hsToken: registration.hs_token,
    botUserId: `@${registration.sender_localpart}:${synapse.serverName}`,
    storePath: join(dir, "store", "bridge.db"),
    encryptionKey: randomBytes(32).toString("base64"),
  };
}

export interface BridgeSettings {
  synchronous: SyncMode;
  concurrency: number;
  logLevel: string;
  /** delivery.defaultFormat: the bench's hooks name no format, so this is how they encode. */
  format?: OutboundFormat;
  /** store.engine postgres with this database; the SQLite engine when absent. */
  postgresUrl?: string;
  /** bridge.role (default all), and the port of a process other than the one the homeserver calls. */
  role?: "all" | "appservice" | "worker";
  port?: number;
}

/** The config file for one run of the bridge; every key is a documented one (config.sample.yml). */
export function bridgeConfig(world: World, s: BridgeSettings): Record<string, unknown> {
  return {
    homeserver: { url: world.synapse.url, domain: world.synapse.serverName },
    bridge: { bindAddress: "127.0.0.1", port: s.port ?? world.bridgePort, ...(s.role ? { role: s.role } : {}) },
    store: {
      path: world.storePath, encryptionKey: world.encryptionKey, synchronous: s.synchronous,
      ...(s.postgresUrl ? { engine: "postgres", postgres: { url: s.postgresUrl, poolSize: 10 } } : {}),
    },
    delivery: { concurrency: s.concurrency, allowedNetworks: ["127.0.0.1/32"], timeoutSeconds: 10, defaultFormat: s.format ?? DEFAULT_OUTBOUND_FORMAT },
    logging: { level: s.logLevel },
  };
}

/**
 * Writes the config and starts the bridge. BENCH_CPU_PROF=<dir> makes it write a CPU profile there
 * when it exits; BENCH_BRIDGE_NODE_OPTIONS adds options allowed in NODE_OPTIONS
 * (e.g. --max-semi-space-size=32); the bridge's output goes to bridge.log.
 */
export async function launchBridge(world: World, s: BridgeSettings): Promise<BridgeProcess> {
  const process_ = s.role && s.role !== "all" ? `-${s.role}-${s.port ?? world.bridgePort}` : "";
  const configPath = join(world.dir, `config-${s.postgresUrl ? "postgres" : s.synchronous.toLowerCase()}-${s.format ?? DEFAULT_OUTBOUND_FORMAT}${process_}.yaml`);
  await writeFile(configPath, yaml.dump(bridgeConfig(world, s)), { mode: 0o600 });
  return withBridgeNodeOptions(() => spawnBridge({ configPath, registrationPath: world.registrationPath, port: s.port ?? world.bridgePort, logPath: join(world.dir, `bridge${process_}.log`), entry: world.entry }));
}

/** Runs `spawn` with BENCH_BRIDGE_NODE_OPTIONS (and BENCH_CPU_PROF's options) in NODE_OPTIONS: they reach the bridge, never this process. */
export async function withBridgeNodeOptions<T>(spawn: () => Promise<T>): Promise<T> {
  const extra = [process.env.BENCH_BRIDGE_NODE_OPTIONS ?? "", process.env.BENCH_CPU_PROF ? `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}` : ""].join(" ").trim();
  const saved = process.env.NODE_OPTIONS;
  // spawnBridge passes our environment on, so these options reach the bridge (and only it).
  if (extra) process.env.NODE_OPTIONS = `${saved ?? ""} ${extra}`.trim();
  try {
    return await spawn();
  } finally {
    if (extra) {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  }
}

/** Creates `rooms` rooms with the bot and `hooks` outbound hooks each, all pointing at the receiver. */
export async function createRoomsAndHooks(world: World, receiverUrl: string, rooms: number, hooks: number): Promise<{ admin: TestClient; roomIds: string[] }> {
  const { userId, accessToken } = await world.synapse.registerUser(`benchadmin_${randomBytes(3).toString("hex")}`, { admin: true });
  const admin = new TestClient(world.synapse.url, userId, accessToken);
  const roomIds: string[] = [];
  for (let i = 0; i < rooms; i += 5) {
    const batch = Array.from({ length: Math.min(5, rooms - i) }, (_, k) => roomWithBot(admin, world.botUserId, { name: `bench ${i + k}` }));
    roomIds.push(...(await Promise.all(batch)));
  }
  await Promise.all(
    roomIds.map(async (roomId, r) => {
      for (let h = 0; h < hooks; h++) {
        const name = `bench${h}`;
        await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, name, { name, url: `${receiverUrl}/room${r}/${name}`, method: "PUT" });
        await botNotice(admin, roomId, world.botUserId, new RegExp(`Outbound hook "${name}" active`), 30_000);
      }
    }),
  );
  return { admin, roomIds };
}

/**
 * Waits until every hook of every room delivers: /health answers before the bridge has read the
 * rooms' state, so probe events are pushed until each room's M hooks all receive one.
 */
export async function waitUntilDelivering(hs: Homeserver, receiver: ReceiverHandle, roomIds: readonly string[], hooks: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const tag = `probe${attempt}`;
    await hs.push(tag, 0, roomIds.length, roomIds);
    last = (await receiver.waitFor(tag, roomIds.length * hooks, 3_000)).count;
    if (last >= roomIds.length * hooks) return;
    await sleep(500);
  }
  throw new Error(`the bridge did not deliver to all ${roomIds.length * hooks} hooks within ${timeoutMs} ms (last probe: ${last})`);
}

/** Runs `use` on a connection of its own to the benchmark's PostgreSQL database, closed after. */
export async function withPostgres<T>(world: World, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: world.postgresUrl });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * Empties the delivery queue of the engine a stopped bridge used (hooks and tokens stay), so that
 * each run starts alike and no run pays for the previous run's rows.
 */
export async function clearQueue(world: World, engine: "sqlite" | "postgres"): Promise<void> {
  if (engine === "postgres") {
    await withPostgres(world, async (client) => {
      await client.query("TRUNCATE attempt_batches, jobs, messages, handled_transactions, follow_ups");
      await client.query("VACUUM ANALYZE");
    });
    return;
  }
  const db = new Database(world.storePath);
  try {
    db.transaction(() => {
      for (const table of ["attempt_batches", "jobs", "messages", "handled_transactions"]) db.prepare(`DELETE FROM ${table}`).run();
    })();
    db.exec("VACUUM");
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

/** Memory figures (MB) from the bridge's Prometheus default metrics; empty when metrics are off. */
export async function bridgeMemory(bridgeUrl: string): Promise<Record<string, number>> {
  // Metric names come from the bridge's output: looked up in a Map, never on a plain object.
  const names = new Map([["process_resident_memory_bytes", "rss"], ["nodejs_heap_size_total_bytes", "heapTotal"], ["nodejs_heap_size_used_bytes", "heapUsed"], ["nodejs_external_memory_bytes", "external"]]);
  const out: Record<string, number> = {};
  for (const line of await metricLines(bridgeUrl)) {
    const [name = "", value] = line.split(" ");
    const label = names.get(name);
    if (label && value) out[label] = Number(value) / 1024 / 1024;
  }
  return out;
}

/** Garbage collections of the bridge's main thread so far, per kind (minor, major, incremental, weakcb): how many, and their total pause. */
export type GcTotals = Record<string, { count: number; ms: number }>;

/** Null when the bridge's metrics cannot be read (or carry no GC figures, e.g. metrics turned off). */
export async function bridgeGc(bridgeUrl: string): Promise<GcTotals | null> {
  // GC kinds are labels from the bridge's output: a null-prototype table.
  const out: GcTotals = Object.create(null) as GcTotals;
  for (const line of await metricLines(bridgeUrl)) {
    const m = /^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/.exec(line);
    if (!m) continue;
    const kind = (out[m[2]!] ??= { count: 0, ms: 0 });
    if (m[1] === "sum") kind.ms = Number(m[3]) * 1000;
    else kind.count = Number(m[3]);
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The collections between two readings, e.g. "minor 6 × 1.2 ms, major 1 × 4.0 ms" (mean pause per collection). */
export function gcBetween(before: GcTotals | null, after: GcTotals | null): string {
  if (!before || !after) return "not measured (the bridge's metrics could not be read)";
  const parts = Object.entries(after).map(([kind, a]) => {
    const count = a.count - (before[kind]?.count ?? 0);
    const ms = a.ms - (before[kind]?.ms ?? 0);
    return count > 0 ? `${kind} ${count} × ${(ms / count).toFixed(1)} ms` : null;
  });
  return parts.filter(Boolean).join(", ") || "none";
}

async function metricLines(bridgeUrl: string): Promise<string[]> {
  const res = await fetch(`${bridgeUrl}/metrics`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  if (!res?.ok) return [];
  return (await res.text()).split("\n");
}

/** Resident memory split into anonymous (heaps, malloc) and file-backed (code, mapped files) parts, MB; Linux only. */
export async function rssParts(pid: number): Promise<{ anonymous: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const mb = (field: string) => {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
    return kb ? Number(kb) / 1024 : NaN;
  };
  return { anonymous: mb("RssAnon"), file: mb("RssFile") + mb("RssShmem") };
}

/** Current resident memory of a process (VmRSS), MB; Linux only. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}
