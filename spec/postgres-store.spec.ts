// The bridge with its delivery queue in PostgreSQL (store.engine: postgres): a real server from
// Debian's packages in a temp dir, the bridge as a child process on real Synapse.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../src/demo/synapse.js";
import { spawnBridge, type BridgeProcess } from "./harness/bridge-process.js";
import { killMidBurstAndRestart } from "./harness/kill-and-restart.js";
import { startPostgres, type PostgresHandle } from "./harness/postgres.js";
import { Receiver } from "./harness/receiver.js";

const CONCURRENCY = 32;
const dir = mkdtempSync(join(tmpdir(), "mwb-pg-store-"));
let postgres: PostgresHandle;
let databaseUrl: string;
let receiver: Receiver;
let bridge: BridgeProcess | undefined;
// One key for every process: the hooks in the database are sealed with it (a start with another is refused).
const storeKey = randomBytes(32).toString("base64");

const writeConfig = (name: string, port: number): string => {
  const { url, serverName } = inject("synapse");
  const path = join(dir, `${name}.yml`);
  writeFileSync(path, yaml.dump({
    homeserver: { url, domain: serverName },
    bridge: { bindAddress: "127.0.0.1", port },
    store: { path: join(dir, `${name}.db`), encryptionKey: storeKey, engine: "postgres", postgres: { url: databaseUrl, poolSize: 8 } },
    delivery: { concurrency: CONCURRENCY, allowedNetworks: ["127.0.0.1/32"], retrySchedule: [0.2, 0.5, 1] },
    logging: { level: "warn" },
  }));
  return path;
};

beforeAll(async () => {
  postgres = await startPostgres();
  databaseUrl = await postgres.createDatabase("bridge");
  receiver = await Receiver.start();
});

afterAll(async () => {
  await bridge?.kill("SIGKILL");
  await receiver?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the delivery queue in PostgreSQL", () => {
  it("loses nothing acknowledged when the bridge is killed with SIGKILL mid-burst, and resends with the same webhook-id", async () => {
    const configPath = writeConfig("main", inject("synapse").bridgePort);
    await killMidBurstAndRestart({ configPath, dir, receiver, concurrency: CONCURRENCY, label: "postgres", running: (b) => (bridge = b) });
  }, 240_000);

  it("refuses to start a second bridge process on the same database, saying why", async () => {
    const configPath = writeConfig("main", inject("synapse").bridgePort);
    const { registrationPath, bridgePort } = inject("synapse");
    bridge = await spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "first.log") });
    const secondLog = join(dir, "second.log");
    const secondPort = await freePort();
    await expect(spawnBridge({ configPath: writeConfig("second", secondPort), registrationPath, port: secondPort, logPath: secondLog, readyTimeoutMs: 20_000 })).rejects.toThrow(/exited before it was ready/);
    expect(readFileSync(secondLog, "utf8")).toMatch(/another bridge process already uses this PostgreSQL database/);
    expect(readFileSync(secondLog, "utf8")).not.toMatch(/at .*\.ts:\d+/);
    await bridge.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);
    bridge = undefined;
  }, 60_000);
});
