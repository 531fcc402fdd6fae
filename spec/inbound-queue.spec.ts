// Nothing posted to an inbound hook is lost while the homeserver is down: posts are stored and
// answered 202, then appear in the room in order once Synapse is back, also when the bridge was
// killed with SIGKILL in between; none twice. This file starts its own Synapse (own data,
// registration and bridge port) so that stopping it does not disturb the other spec files.
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, registerWithSharedSecret, startSynapse, type SynapseHandle } from "../src/demo/synapse.js";
import { TestClient, type MatrixEvent } from "../src/demo/test-client.js";
import { generateRegistration, loadRegistration, writeRegistrationFile } from "../src/matrix/registration.js";
import { spawnBridge, type BridgeProcess } from "./harness/bridge-process.js";
import { botNotice, roomWithBot, secretFromDm } from "./harness/rooms.js";
import { uniqueName } from "./harness/users.js";

const dir = mkdtempSync(join(tmpdir(), "mwb-iqueue-"));
const storePath = join(dir, "bridge.db");
const configPath = join(dir, "config.yml");
const registrationPath = join(dir, "registration.yaml");
let synapse: SynapseHandle;
let bridge: BridgeProcess | undefined;
let bridgePort: number;
let botUserId: string;

const startBridge = () => spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "bridge.log") });

beforeAll(async () => {
  bridgePort = await freePort();
  await writeRegistrationFile(registrationPath, generateRegistration({ url: `http://127.0.0.1:${bridgePort}` }));
  const registration = await loadRegistration(registrationPath);
  synapse = await startSynapse({ dataDir: join(dir, "synapse"), appserviceRegistrationFiles: [registrationPath], log: (line) => console.log(`[private synapse] ${line}`) });
  botUserId = `@${registration.senderLocalpart}:${synapse.serverName}`;
  writeFileSync(configPath, yaml.dump({
    homeserver: { url: synapse.url, domain: synapse.serverName },
    bridge: { bindAddress: "127.0.0.1", port: bridgePort },
    store: { path: storePath, encryptionKey: randomBytes(32).toString("base64") },
    inbound: { postWaitMs: 2000 },
    logging: { level: process.env.BRIDGE_LOG_LEVEL ?? "warn" },
  }));
}, 120_000);

afterAll(async () => {
  await bridge?.kill("SIGKILL");
  await synapse?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, text: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ text }) });
  return { status: res.status, json: (await res.json()) as { ok?: boolean; event_id?: string; queued?: boolean; id?: string; error?: string } };
}

async function status(url: string, postId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/posts/${postId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** The bodies of the hook's messages in the room, oldest first. */
async function postedBodies(admin: TestClient, roomId: string, ghost: string): Promise<string[]> {
  const { chunk } = await admin.messages(roomId, { limit: 200 });
  return chunk.filter((e: MatrixEvent) => e.sender === ghost && e.type === "m.room.message").map((e) => String(e.content.body)).reverse();
}

/** Waits (bounded) until the room holds at least `count` messages of the hook. */
async function waitForBodies(admin: TestClient, roomId: string, ghost: string, count: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let bodies: string[] = [];
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    bodies = await postedBodies(admin, roomId, ghost);
    if (bodies.length >= count) return bodies;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`only ${bodies.length} of ${count} messages arrived: ${JSON.stringify(bodies)}`);
}

const pendingInStore = (): number => {
  const db = new Database(storePath, { readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM inbound_posts WHERE done_at IS NULL").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe("inbound posts while the homeserver is down", () => {
  it("answers 202 while Synapse is stopped and posts everything in order once it is back, across a SIGKILL of the bridge, none twice", async () => {
    bridge = await startBridge();
    const { userId, accessToken } = await registerWithSharedSecret(synapse.url, synapse.sharedSecret, uniqueName("admin"));
    const admin = new TestClient(synapse.url, userId, accessToken);
    const roomId = await roomWithBot(admin, botUserId);
    await admin.sendMessage(roomId, `!hooks inbound add "alerts"`);
    await botNotice(admin, roomId, botUserId, /Inbound hook "alerts" added/);
    const url = await secretFromDm(admin, botUserId, `URL of inbound hook "alerts"`);

    // Up: posted at once, 200 with the event id.
    const first = await post(url, "up 0");
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const ghost = (await admin.waitForEvent(roomId, (e) => e.event_id === first.json.event_id)).sender;

    // Down: stored and answered 202 with the post's id; a redelivery (same Idempotency-Key) gets the same id.
    await synapse.stop();
    const queued: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const res = await post(url, `down ${i}`, { "idempotency-key": `down-${i}` });
      expect(res.status, JSON.stringify(res.json)).toBe(202);
      expect(res.json).toEqual({ ok: true, queued: true, id: expect.stringMatching(/^ip_[A-Za-z0-9_-]{22}$/) });
      queued.push(res.json.id!);
    }
    expect(new Set(queued).size).toBe(3);
    const again = await post(url, "down 2", { "idempotency-key": "down-2" });
    expect(again).toEqual({ status: 202, json: { ok: true, queued: true, id: queued[1] } });
    expect(await status(url, queued[0]!)).toMatchObject({ ok: true, id: queued[0], state: "queued", event_ids: [] });

    // Back: the worker posts them by itself, in order.
    await synapse.restart();
    expect(await waitForBodies(admin, roomId, ghost, 4, 90_000)).toEqual(["up 0", "down 1", "down 2", "down 3"]);
    // The sender can look its post up: posted, with the event id the room has.
    const looked = await status(url, queued[0]!);
    expect(looked).toMatchObject({ ok: true, state: "posted", event_ids: [expect.stringMatching(/^\$/)] });
    expect((await admin.waitForEvent(roomId, (e) => e.event_id === (looked.event_ids as string[])[0])).content.body).toBe("down 1");
    // A redelivery of a posted one answers its event id and posts nothing.
    const redelivered = await post(url, "down 2", { "idempotency-key": "down-2" });
    expect(redelivered.status).toBe(200);
    expect(redelivered.json.event_id).toMatch(/^\$/);

    // Down again, and the bridge is killed with posts queued.
    await synapse.stop();
    for (let i = 4; i <= 6; i++) expect((await post(url, `down ${i}`)).status).toBe(202);
    await bridge.kill("SIGKILL");
    bridge = undefined;
    expect(pendingInStore()).toBe(3);

    // Synapse first (the bridge needs it to start), then the bridge: it resumes the stored posts.
    await synapse.restart();
    bridge = await startBridge();
    await waitForBodies(admin, roomId, ghost, 7, 90_000);
    // Let any duplicate show up before counting.
    const next = await post(url, "after");
    expect(next.status).toBe(200);
    await admin.waitForEvent(roomId, (e) => e.event_id === next.json.event_id);
    expect(await postedBodies(admin, roomId, ghost)).toEqual(["up 0", "down 1", "down 2", "down 3", "down 4", "down 5", "down 6", "after"]);
    expect(pendingInStore()).toBe(0);
  }, 300_000);
});
