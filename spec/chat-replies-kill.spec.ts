// A chat hook's reply is posted exactly once even when the bridge dies: killed with SIGKILL just
// after the receiver answered, and killed between posting a reply and recording that it did.
// The bridge runs as a child process (with reply identity overrides allowed, so that rule is
// checked here too).
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { loadRegistration } from "../src/matrix/registration.js";
import { spawnBridge, type BridgeProcess } from "./harness/bridge-process.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let receiver: Receiver;
let bridge: BridgeProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), "mwb-reply-kill-"));
const configPath = join(dir, "config.yml");
const storePath = join(dir, "bridge.db");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const { url, serverName, bridgePort } = inject("synapse");
  receiver = await Receiver.start();
  writeFileSync(configPath, yaml.dump({
    homeserver: { url, domain: serverName },
    bridge: { bindAddress: "127.0.0.1", port: bridgePort },
    store: { path: storePath, encryptionKey: randomBytes(32).toString("base64") },
    delivery: { allowedNetworks: ["127.0.0.1/32"], retrySchedule: [0.3, 0.6, 1] },
    replies: { allowIdentityOverride: true },
    logging: { level: "warn" },
  }));
});

afterAll(async () => {
  await bridge?.kill("SIGKILL");
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fromGhost = (e: MatrixEvent) => e.type === "m.room.message" && /^@webhook_/.test(e.sender);

async function ghostMessages(admin: TestClient, roomId: string): Promise<MatrixEvent[]> {
  return (await admin.messages(roomId, { limit: 100 })).chunk.filter(fromGhost);
}

/** Waits (bounded) until the room has `count` replies, then a little more to see none follow. */
async function settled(admin: TestClient, roomId: string, count: number): Promise<MatrixEvent[]> {
  for (let i = 0; i < 100 && (await ghostMessages(admin, roomId)).length < count; i++) await sleep(200);
  await sleep(1500);
  return ghostMessages(admin, roomId);
}

function storedReplies(): Array<{ id: number; posted: number; done_at: number | null }> {
  const db = new Database(storePath, { readonly: true });
  try {
    return db.prepare("SELECT id, posted, done_at FROM replies ORDER BY id").all() as Array<{ id: number; posted: number; done_at: number | null }>;
  } finally {
    db.close();
  }
}

describe("a chat hook's reply when the bridge is killed", () => {
  it("is posted once after a SIGKILL just after the receiver answered, and once when the kill came between posting and recording it", async () => {
    const { registrationPath, bridgePort, serverName } = inject("synapse");
    const registration = await loadRegistration(registrationPath);
    const botUserId = `@${registration.senderLocalpart}:${serverName}`;
    const start = () => spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "bridge.log") });
    bridge = await start();
    const admin = (await registerUser(uniqueName("admin"))).client;
    const roomId = await roomWithBot(admin, botUserId);
    await admin.sendMessage(roomId, `!hooks outbound add deployer ${receiver.url}/deployer --format slack --trigger deploy`);
    await botNotice(admin, roomId, botUserId, /Outbound hook "deployer" added/);
    const token = await tokenFromDm(admin, botUserId, "deployer", new Set());

    let killed: Promise<void> | null = null;
    receiver.respondWith((req: ReceivedRequest) => {
      if (new URLSearchParams(req.body.toString("utf8")).get("token") !== token) return { status: 401 };
      // The answer goes out now; the bridge dies right behind it.
      if (!killed) killed = new Promise((resolve) => setImmediate(() => void bridge!.kill("SIGKILL").then(resolve)));
      return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "Deploying *now*", username: "robot" }) };
    });
    await admin.sendMessage(roomId, "deploy production");
    await receiver.waitFor((r) => r.path === "/deployer");
    await sleep(100);
    await killed;

    bridge = await start();
    const [reply] = await settled(admin, roomId, 1);
    expect(await ghostMessages(admin, roomId)).toHaveLength(1);
    // Overrides are allowed here: the reply shows its own name, marked as a webhook's.
    expect(reply!.content["com.beeper.per_message_profile"]).toMatchObject({ displayname: "robot (webhook)" });
    expect(String(reply!.content.body)).toBe("robot (webhook): Deploying *now*");
    const answers = receiver.requests.filter((r) => r.path === "/deployer").length;
    expect(answers).toBeGreaterThanOrEqual(1);

    // Now as if the bridge died after posting but before recording it: the store says "not posted".
    await bridge.kill("SIGKILL");
    const [row] = storedReplies();
    expect(row).toMatchObject({ posted: 1 });
    const db = new Database(storePath);
    db.prepare("UPDATE replies SET posted = 0, done_at = NULL WHERE id = ?").run(row!.id);
    db.close();
    bridge = await start();
    // Posted again under the same transaction id, which the homeserver recognises: still one message.
    for (let i = 0; i < 50 && storedReplies()[0]!.done_at === null; i++) await sleep(200);
    expect(storedReplies()[0]).toMatchObject({ posted: 1 });
    expect(storedReplies()[0]!.done_at).not.toBeNull();
    expect(await settled(admin, roomId, 1)).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === "/deployer")).toHaveLength(answers);

    await bridge.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);
    bridge = undefined;
  }, 120_000);
});
