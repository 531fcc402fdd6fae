// Several bridge processes on one store (bridge.role): one appservice process, two worker
// processes and an inbound process share a real PostgreSQL, on real Synapse. Each is a child
// process started with --role, with a SQLite file of its own, as on a host of its own: everything
// they share is in PostgreSQL.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../src/demo/synapse.js";
import { loadRegistration, type LoadedRegistration } from "../src/matrix/registration.js";
import type { TestClient } from "../src/demo/test-client.js";
import { spawnBridge, type BridgeProcess } from "./harness/bridge-process.js";
import { startPostgres, type PostgresHandle } from "./harness/postgres.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, secretFromDm, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const CONCURRENCY = 8;
const dir = mkdtempSync(join(tmpdir(), "mwb-roles-"));
const storeKey = randomBytes(32).toString("base64");
let postgres: PostgresHandle;
let databaseUrl: string;
let receiver: Receiver;
let registration: LoadedRegistration;
let botUserId: string;
let appservice: BridgeProcess | undefined;
let inboundPort: number;
let inboundProcess: BridgeProcess | undefined;
let second: BridgeProcess;
const workers: Array<BridgeProcess | undefined> = [];
let admin: TestClient;
let roomId: string;
const dmRooms = new Set<string>();

/** One config per process: the same store key and database, each its own SQLite file and port. */
const writeConfig = (name: string, port: number): string => {
  const { url, serverName } = inject("synapse");
  const path = join(dir, `${name}.yml`);
  writeFileSync(path, yaml.dump({
    homeserver: { url, domain: serverName },
    bridge: { bindAddress: "127.0.0.1", port, publicUrl: `http://127.0.0.1:${inboundPort}` },
    store: { path: join(dir, `${name}.db`), encryptionKey: storeKey, engine: "postgres", postgres: { url: databaseUrl, poolSize: 4 } },
    // A lease lasts the timeout + 30 s: a killed worker's jobs are taken over within about 32 s.
    delivery: { concurrency: CONCURRENCY, allowedNetworks: ["127.0.0.1/32"], retrySchedule: [0.2, 0.5, 1], timeoutSeconds: 2 },
    logging: { level: "warn" },
  }));
  return path;
};

async function startWorker(i: number): Promise<BridgeProcess> {
  const port = await freePort();
  const worker = await spawnBridge({ configPath: writeConfig(`worker${i}`, port), registrationPath: inject("synapse").registrationPath, port, logPath: join(dir, `worker${i}.log`), args: ["--role", "worker"] });
  workers[i] = worker;
  return worker;
}

/** Successful deliveries a process made, from its /metrics. */
async function deliveredBy(process: BridgeProcess): Promise<number> {
  const text = await (await fetch(`${process.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('webhook_bridge_deliveries_total{outcome="success"}'));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** Sends `count` messages to the appservice process as homeserver transactions of 500; returns their event ids. */
async function burst(label: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let t = 0; t * 500 < count; t++) {
    const events = Array.from({ length: Math.min(500, count - t * 500) }, (_, i) => {
      const eventId = `$${label}-${t}-${i}-${randomBytes(4).toString("hex")}`;
      ids.push(eventId);
      return { event_id: eventId, room_id: roomId, sender: admin.userId, type: "m.room.message", origin_server_ts: Date.now(), content: { msgtype: "m.text", body: `${label} ${t}/${i}` } };
    });
    const res = await fetch(`${appservice!.url}/_matrix/app/v1/transactions/${label}-${t}-${randomBytes(4).toString("hex")}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${registration.hsToken}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(200);
  }
  return ids;
}

/** Waits (bounded) until every event arrived; returns each event's requests. */
async function arrivals(eventIds: readonly string[], timeoutMs: number): Promise<Map<string, ReceivedRequest[]>> {
  const wanted = new Set(eventIds);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = new Map<string, ReceivedRequest[]>();
    for (const r of receiver.requests) {
      const id = String(r.headers["x-matrix-hookshot-eventid"]);
      if (wanted.has(id)) seen.set(id, [...(seen.get(id) ?? []), r]);
    }
    if (seen.size >= wanted.size || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  postgres = await startPostgres();
  databaseUrl = await postgres.createDatabase("roles");
  receiver = await Receiver.start();
  const { registrationPath, bridgePort, serverName } = inject("synapse");
  registration = await loadRegistration(registrationPath);
  botUserId = `@${registration.senderLocalpart}:${serverName}`;
  inboundPort = await freePort();
  appservice = await spawnBridge({ configPath: writeConfig("appservice", bridgePort), registrationPath, port: bridgePort, logPath: join(dir, "appservice.log"), args: ["--role", "appservice"] });
  await Promise.all([startWorker(0), startWorker(1)]);
  inboundProcess = await spawnBridge({ configPath: writeConfig("inbound", inboundPort), registrationPath, port: inboundPort, logPath: join(dir, "inbound.log"), args: ["--role", "inbound"] });
  admin = (await registerUser(uniqueName("roles"))).client;
  roomId = await roomWithBot(admin, botUserId);
}, 120_000);

afterAll(async () => {
  await Promise.all([appservice?.kill("SIGKILL"), second?.kill("SIGKILL"), inboundProcess?.kill("SIGKILL"), ...workers.map((w) => w?.kill("SIGKILL"))]);
  await receiver?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("an appservice process, two workers and an inbound process on one PostgreSQL store", () => {
  let token: string;

  it("serves a hook added by command in the room from both workers, with its token", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add sink ${receiver.url}/sink`);
    token = await tokenFromDm(admin, botUserId, "sink", dmRooms);
    await botNotice(admin, roomId, botUserId, /Outbound hook "sink" added/);
    // Events sent before a worker has heard of the hook wait in the queue for one that has.
    receiver.respondWith(() => ({ status: 200, delayMs: 20 }));
    const before = await Promise.all(workers.map((w) => deliveredBy(w!)));
    const ids = await burst("both", 400);
    const seen = await arrivals(ids, 30_000);
    expect(ids.filter((id) => !seen.has(id))).toEqual([]);
    const after = await Promise.all(workers.map((w) => deliveredBy(w!)));
    const share = after.map((n, i) => n - before[i]!);
    console.log(`[roles] 400 events: worker 0 delivered ${share[0]}, worker 1 delivered ${share[1]}`);
    expect(share.every((n) => n > 0)).toBe(true);
    expect([...seen.values()].flat().every((r) => r.headers["x-matrix-hookshot-token"] === token)).toBe(true);
  }, 90_000);

  it("sends a token refreshed by command from every worker within a second", async () => {
    await admin.sendMessage(roomId, "!hooks outbound token sink");
    await botNotice(admin, roomId, botUserId, /"sink" has a new token/);
    let fresh = token;
    for (let tries = 0; fresh === token && tries < 50; tries++) {
      fresh = await tokenFromDm(admin, botUserId, "sink", dmRooms);
      if (fresh === token) await new Promise((r) => setTimeout(r, 200));
    }
    expect(fresh).not.toBe(token);
    // The workers heard of the change (a notification): within a second, every delivery carries the new token.
    await new Promise((r) => setTimeout(r, 1000));
    const seen = await arrivals(await burst("fresh", 200), 30_000);
    expect(seen.size).toBe(200);
    expect([...seen.values()].flat().map((r) => r.headers["x-matrix-hookshot-token"]).filter((t) => t !== fresh)).toEqual([]);
  }, 60_000);

  it("batches across two workers: at most N events per request, in order, one webhook-id per batch", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add batched ${receiver.url}/batched --batch-max-events 3 --batch-max-wait-ms 300 --ordering strict`);
    await botNotice(admin, roomId, botUserId, /Outbound hook "batched" added/);
    // The first request is answered late: the events behind it wait (strict order) and fill batches.
    let first = true;
    receiver.respondWith((req) => (req.path === "/batched" && first ? ((first = false), { status: 200, delayMs: 1500 }) : { status: 200 }));
    // Both workers know the hook before the events come (notifications): a worker that does not yet leaves its jobs alone.
    await new Promise((r) => setTimeout(r, 1000));
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(...(await burst(`batch${i}`, 4)));
    const toBatched = () => receiver.requests.filter((r) => r.path === "/batched");
    const idsOf = (r: ReceivedRequest) => (JSON.parse(r.body.toString()) as Array<{ event_id: string }>).map((e) => e.event_id);
    await receiver.waitFor(() => new Set(toBatched().flatMap(idsOf)).size >= sent.length, 1, 30_000);
    const requests = toBatched();
    expect(requests.flatMap(idsOf)).toEqual(sent);
    expect(requests.every((r) => idsOf(r).length >= 1 && idsOf(r).length <= 3)).toBe(true);
    expect(requests.some((r) => idsOf(r).length === 3)).toBe(true);
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(requests.length);
    receiver.respondWith(() => ({ status: 200 }));
    await admin.sendMessage(roomId, "!hooks outbound remove batched");
    await botNotice(admin, roomId, botUserId, /"batched" removed/);
  }, 60_000);

  it("serves an inbound hook added by command from the inbound process, at once; the appservice process serves no inbound URL", async () => {
    await admin.sendMessage(roomId, '!hooks inbound add "Deployer"');
    const url = await secretFromDm(admin, botUserId, 'URL of inbound hook "Deployer"', dmRooms);
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${inboundPort}/webhook/[A-Za-z0-9_-]{22}$`));
    // Posted as soon as the URL arrived: the inbound process may not have heard of the hook yet, and reads the room first.
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "deployed v2" }) });
    const answer = (await res.json()) as { ok?: boolean; event_id?: string };
    expect(res.status).toBe(200);
    const event = await admin.waitForEvent(roomId, (e) => e.event_id === answer.event_id);
    expect(event.content).toMatchObject({ body: "deployed v2" });
    expect(event.sender).toMatch(/^@webhook_ih_/);
    const path = new URL(url).pathname;
    expect((await fetch(`${appservice!.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(404);
  }, 60_000);

  it("delivers everything when a worker is killed with SIGKILL with more than 10,000 deliveries queued; copies share their webhook-id", async () => {
    receiver.respondWith(() => ({ status: 200, delayMs: 25 }));
    const startedWith = await deliveredBy(workers[0]!);
    const ids = await burst("kill", 11_000);
    const mine = new Set(ids);
    await receiver.waitFor((r) => mine.has(String(r.headers["x-matrix-hookshot-eventid"])), 100, 30_000);
    // The worker killed was taking part: it delivered some of the burst already.
    const killedDelivered = (await deliveredBy(workers[0]!)) - startedWith;
    const killedAt = Date.now();
    await workers[0]!.kill("SIGKILL");
    workers[0] = undefined;
    const receivedBeforeKill = new Set(receiver.requests.map((r) => String(r.headers["x-matrix-hookshot-eventid"])).filter((id) => mine.has(id))).size;
    expect(ids.length - receivedBeforeKill).toBeGreaterThanOrEqual(10_000);
    receiver.respondWith(() => ({ status: 200 }));
    const seen = await arrivals(ids, 180_000);
    expect(ids.filter((id) => !seen.has(id))).toEqual([]);
    const copies = [...seen.values()].reduce((n, reqs) => n + reqs.length, 0) - ids.length;
    console.log(`[roles] 11,000 events; ${receivedBeforeKill} sent before worker 0 was killed (${killedDelivered} of them by it); the rest took ${Date.now() - killedAt} ms; ${copies} copies so far (a request in flight at the kill goes again once its lease ends)`);
    expect(killedDelivered).toBeGreaterThan(0);
    // Only what the killed worker held can go twice: its requests in flight and the jobs it had claimed ahead.
    expect(copies).toBeLessThanOrEqual(CONCURRENCY + 64);
    expect([...seen.values()].every((reqs) => new Set(reqs.map((r) => r.headers["webhook-id"])).size === 1)).toBe(true);
  }, 300_000);

  it("loses nothing acknowledged when an appservice process is killed mid-burst; the transactions re-sent to another appservice process deliver nothing twice", async () => {
    // Worker 0 comes back (killed above); a second appservice process starts beside the first.
    await startWorker(0);
    const port = await freePort();
    second = await spawnBridge({ configPath: writeConfig("appservice2", port), registrationPath: inject("synapse").registrationPath, port, logPath: join(dir, "appservice2.log"), args: ["--role", "appservice"] });
    receiver.respondWith(() => ({ status: 200 }));
    const txns = Array.from({ length: 10 }, (_, t) => ({
      id: `as-kill-${t}-${randomBytes(4).toString("hex")}`,
      events: Array.from({ length: 300 }, (_, i) => ({
        event_id: `$as-kill-${t}-${i}-${randomBytes(4).toString("hex")}`, room_id: roomId, sender: admin.userId, type: "m.room.message",
        origin_server_ts: Date.now(), content: { msgtype: "m.text", body: `as-kill ${t}/${i}` },
      }) as Record<string, unknown>),
    }));
    // A command in the transaction that is cut off: whichever process stores it runs it.
    txns[5]!.events.push({ event_id: `$as-kill-command-${randomBytes(4).toString("hex")}`, room_id: roomId, sender: admin.userId, type: "m.room.message", origin_server_ts: Date.now(), content: { msgtype: "m.text", body: "!hooks outbound list" } });
    const put = (base: string, txn: (typeof txns)[number]) => fetch(`${base}/_matrix/app/v1/transactions/${txn.id}`, {
      method: "PUT", headers: { authorization: `Bearer ${registration.hsToken}`, "content-type": "application/json" }, body: JSON.stringify({ events: txn.events }),
    });
    for (const txn of txns.slice(0, 5)) expect((await put(appservice!.url, txn)).status).toBe(200);
    // The sixth is under way when the first process is killed: stored or not, it was not acknowledged.
    const cut = put(appservice!.url, txns[5]!).then((res) => res.status, () => "no answer");
    await appservice!.kill("SIGKILL");
    appservice = undefined;
    console.log(`[roles] the transaction under way at the kill got: ${await cut}`);
    // The homeserver sends what it has no answer for again, and may send the others again too: all of them, to the other process.
    for (const txn of txns) expect((await put(second.url, txn)).status).toBe(200);
    const ids = txns.flatMap((txn) => txn.events.filter((e) => String((e.content as { body: string }).body).startsWith("as-kill ")).map((e) => String(e.event_id)));
    const seen = await arrivals(ids, 60_000);
    expect(ids.filter((id) => !seen.has(id))).toEqual([]);
    // No worker died: every event went out exactly once.
    expect([...seen.values()].filter((reqs) => reqs.length > 1).length).toBe(0);
    await botNotice(admin, roomId, botUserId, /Outbound hooks in this room/, 30_000);
    // The registered process comes back for the tests after this one.
    const { registrationPath, bridgePort } = inject("synapse");
    appservice = await spawnBridge({ configPath: writeConfig("appservice", bridgePort), registrationPath, port: bridgePort, logPath: join(dir, "appservice.log"), args: ["--role", "appservice"] });
  }, 180_000);

  it("refuses a process with role all on the store the roles share, saying why", async () => {
    const port = await freePort();
    const logPath = join(dir, "all.log");
    await expect(spawnBridge({ configPath: writeConfig("all", port), registrationPath: inject("synapse").registrationPath, port, logPath, readyTimeoutMs: 20_000 })).rejects.toThrow(/exited before it was ready/);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(logPath, "utf8")).toMatch(/another bridge process already uses this PostgreSQL database/);
  }, 60_000);
});
