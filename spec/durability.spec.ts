// Nothing acknowledged is lost: the bridge is killed with SIGKILL while more than 10,000
// deliveries are queued or in flight, restarted, and every event still arrives; a command
// acknowledged by a run that died before running it is run by the next one.
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { loadRegistration } from "../src/matrix/registration.js";
import { spawnBridge, type BridgeProcess } from "./harness/bridge-process.js";
import { killMidBurstAndRestart } from "./harness/kill-and-restart.js";
import { Receiver } from "./harness/receiver.js";
import { botNotice, roomWithBot } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const CONCURRENCY = 32;

let receiver: Receiver;
let bridge: BridgeProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), "mwb-kill-"));
const configPath = join(dir, "config.yml");
const storePath = join(dir, "bridge.db");

beforeAll(async () => {
  const { url, serverName, bridgePort } = inject("synapse");
  receiver = await Receiver.start();
  writeFileSync(configPath, yaml.dump({
    homeserver: { url, domain: serverName },
    bridge: { bindAddress: "127.0.0.1", port: bridgePort },
    store: { path: storePath, encryptionKey: randomBytes(32).toString("base64") },
    delivery: { concurrency: CONCURRENCY, allowedNetworks: ["127.0.0.1/32"], retrySchedule: [0.2, 0.5, 1] },
    logging: { level: "warn" },
  }));
});

afterAll(async () => {
  await bridge?.kill("SIGKILL");
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a bridge killed with SIGKILL", () => {
  it("delivers every acknowledged event after a restart, duplicates only for jobs in flight, with the same webhook-id", async () => {
    await killMidBurstAndRestart({ configPath, dir, receiver, concurrency: CONCURRENCY, label: "sqlite", running: (b) => (bridge = b) });
  }, 240_000);
});

describe("a command acknowledged by a run that stopped before running it", () => {
  const followUpsLeft = (): number => {
    const db = new Database(storePath, { readonly: true });
    try {
      return db.prepare("SELECT COUNT(*) FROM follow_ups WHERE done_at IS NULL").pluck().get() as number;
    } finally {
      db.close();
    }
  };
  /** Polls the store (bounded: 10 s) until no follow-up is left; returns how many are. */
  const waitForNoFollowUps = async (): Promise<number> => {
    for (let i = 0; i < 100 && followUpsLeft() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    return followUpsLeft();
  };

  it("is stored with its transaction, run at the next start, and forgotten once done", async () => {
    const { registrationPath, bridgePort, serverName } = inject("synapse");
    const registration = await loadRegistration(registrationPath);
    const botUserId = `@${registration.senderLocalpart}:${serverName}`;
    const start = () => spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "bridge-follow-ups.log") });
    bridge = await start();
    const admin = (await registerUser(uniqueName("admin"))).client;
    const roomId = await roomWithBot(admin, botUserId);
    const name = `resumed-${randomBytes(3).toString("hex")}`;
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, name, { name, url: `${receiver.url}/${name}` });
    await botNotice(admin, roomId, botUserId, new RegExp(`Outbound hook "${name}" active`));
    // The usual way: the command runs after the 200, and then nothing of it is left in the store.
    await admin.sendMessage(roomId, "!hooks outbound list");
    await botNotice(admin, roomId, botUserId, new RegExp(`Outbound hooks in this room:\n- ${name}:`));
    expect(await waitForNoFollowUps()).toBe(0);
    await bridge.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);

    // What a run that died between the 200 and the command leaves behind (the commit holds it).
    // The command names the hook: it can only answer once the room's hooks are loaded again.
    const command = {
      event_id: `$resumed-${randomBytes(4).toString("hex")}`, room_id: roomId, sender: admin.userId, type: "m.room.message",
      origin_server_ts: Date.now(), content: { msgtype: "m.text", body: `!hooks outbound status ${name}` },
    };
    const db = new Database(storePath);
    db.prepare("INSERT INTO follow_ups (event_id, txn_id, event, created_at) VALUES (?, ?, ?, ?)").run(command.event_id, `died-${name}`, JSON.stringify(command), Date.now());
    db.close();

    bridge = await start();
    await botNotice(admin, roomId, botUserId, new RegExp(`Outbound hook "${name}": active`));
    expect(await waitForNoFollowUps()).toBe(0);
    await bridge.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);
    bridge = undefined;
  }, 120_000);
});
