// The start-up benchmark's homeserver: many rooms the bot is in, made once and kept in a cache
// (creating rooms on Synapse here runs at ~2.6 rooms/s), then copied for every run.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { SYNAPSE_VERSION, startSynapse, type SynapseHandle } from "../src/demo/synapse.js";
import { generateRegistration, writeRegistrationFile } from "../src/matrix/registration.js";

export interface StartupShape {
  /** Rooms the bot is in, each with one outbound hook (receivers down: nothing listens at their URL). */
  rooms: number;
  /** Of those, the first `crowdedRooms` have `hooksPerCrowdedRoom` hooks each instead. */
  crowdedRooms: number;
  hooksPerCrowdedRoom: number;
}

export interface BenchRegistration {
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
}

export interface StartupWorld {
  /** Copied from the cache for this run: Synapse's data directory and the registration. */
  dir: string;
  registrationPath: string;
  registration: BenchRegistration;
  /** Room ids in creation order; crowded ones first. */
  roomIds: string[];
}

/** Where nothing listens: every hook fails with "connection refused" (a receiver that is down). */
export const CLOSED_PORT = 9;

interface CacheManifest {
  shape: StartupShape;
  roomIds: string[];
}

export function startupCacheDir(shape: StartupShape): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "matrix-webhook-bridge", `bench-startup-synapse-${SYNAPSE_VERSION}-r${shape.rooms}-c${shape.crowdedRooms}x${shape.hooksPerCrowdedRoom}`);
}

/**
 * A copy of the cached homeserver in `dir` (made first when the cache lacks it). The registration's
 * URL is set to `bridgeUrl`; Synapse is not running.
 */
export async function copyStartupWorld(dir: string, shape: StartupShape, bridgeUrl: string, log: (line: string) => void): Promise<StartupWorld> {
  const cache = startupCacheDir(shape);
  if (!existsSync(join(cache, "manifest.json"))) await buildCache(cache, shape, log);
  const manifest = JSON.parse(await readFile(join(cache, "manifest.json"), "utf8")) as CacheManifest;
  await cp(cache, dir, { recursive: true });
  const registrationPath = join(dir, "registration.yaml");
  const registration = yaml.load(await readFile(registrationPath, "utf8")) as BenchRegistration;
  registration.url = bridgeUrl;
  await writeRegistrationFile(registrationPath, registration);
  return { dir, registrationPath, registration, roomIds: manifest.roomIds };
}

export function startWorldSynapse(world: StartupWorld, log: (line: string) => void): Promise<SynapseHandle> {
  return startSynapse({ dataDir: join(world.dir, "synapse"), appserviceRegistrationFiles: [world.registrationPath], log, readyTimeoutMs: 180_000 });
}

async function buildCache(cache: string, shape: StartupShape, log: (line: string) => void): Promise<void> {
  const building = `${cache}.building-${randomBytes(3).toString("hex")}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  // While the rooms are made, transactions go to a sink that accepts them: nothing is held back
  // for the bridge, so a run starts with a homeserver that owes it nothing.
  const sink = await listenSink();
  const sinkPort = (sink.address() as { port: number }).port;
  const registration = generateRegistration({ url: `http://127.0.0.1:${sinkPort}` });
  const registrationPath = join(building, "registration.yaml");
  await writeRegistrationFile(registrationPath, registration);
  const synapse = await startSynapse({ dataDir: join(building, "synapse"), appserviceRegistrationFiles: [registrationPath], log });
  try {
    log(`creating ${shape.rooms} rooms for the start-up benchmark (once; kept in ${cache})`);
    const roomIds = new Array<string>(shape.rooms);
    let next = 0;
    const started = Date.now();
    const lane = async (): Promise<void> => {
      for (let i = next++; i < shape.rooms; i = next++) {
        roomIds[i] = await createRoomAsBot(synapse.url, registration.as_token, i, hooksOf(i, shape));
        if ((i + 1) % 100 === 0) log(`  ${i + 1} rooms (${((i + 1) / ((Date.now() - started) / 1000)).toFixed(1)} rooms/s)`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, lane));
    await writeFile(join(building, "manifest.json"), JSON.stringify({ shape, roomIds } satisfies CacheManifest));
  } finally {
    await synapse.stop();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
  await rm(cache, { recursive: true, force: true });
  await mkdir(join(cache, ".."), { recursive: true });
  await rename(building, cache);
}

/** The hook state events of room `i`, as the bot writes them when a hook is added by command. */
function hooksOf(i: number, shape: StartupShape): Array<{ name: string; url: string }> {
  const hooks = i < shape.crowdedRooms ? shape.hooksPerCrowdedRoom : 1;
  return Array.from({ length: hooks }, (_, h) => ({ name: `down${h}`, url: `http://127.0.0.1:${CLOSED_PORT}/room${i}/hook${h}` }));
}

async function createRoomAsBot(homeserverUrl: string, asToken: string, i: number, hooks: Array<{ name: string; url: string }>): Promise<string> {
  const body = {
    name: `startup bench ${i}`,
    preset: "private_chat",
    initial_state: hooks.map((h) => ({ type: OUTBOUND_HOOK_EVENT_TYPE, state_key: h.name, content: { name: h.name, url: h.url, method: "PUT" } })),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await fetch(`${homeserverUrl}/_matrix/client/v3/createRoom`, {
      method: "POST",
      headers: { authorization: `Bearer ${asToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    if (res.ok) return ((await res.json()) as { room_id: string }).room_id;
    if (res.status !== 429 && res.status < 500) throw new Error(`createRoom answered ${res.status}: ${await res.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
  }
  throw new Error(`createRoom for room ${i} kept failing`);
}

function listenSink(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
