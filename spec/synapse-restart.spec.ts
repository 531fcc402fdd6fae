// A homeserver restart between two runs of the bridge. Synapse on SQLite numbers its appservice
// transactions from 1 again after a restart (it seeds the counter from the transactions still
// pending, and sent ones are deleted): ids the bridge remembers as handled come back with new
// events, which must be delivered. This file starts its own Synapse (own data, registration and
// bridge port) so that restarting it does not disturb the other spec files.
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookBridge } from "../src/app.js";
import { validateConfig } from "../src/config/index.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { freePort, registerWithSharedSecret, startSynapse, type SynapseHandle } from "../src/demo/synapse.js";
import { TestClient } from "../src/demo/test-client.js";
import { generateRegistration, loadRegistration, writeRegistrationFile, type LoadedRegistration } from "../src/matrix/registration.js";
import { createLogger } from "../src/observability/logger.js";
import { forEvent, Receiver } from "./harness/receiver.js";
import { botNotice, roomWithBot } from "./harness/rooms.js";
import { uniqueName } from "./harness/users.js";

const dir = mkdtempSync(join(tmpdir(), "mwb-hs-restart-"));
const storePath = join(dir, "bridge.db");
let synapse: SynapseHandle;
let registration: LoadedRegistration;
let bridgePort: number;
let bridge: WebhookBridge | undefined;
let receiver: Receiver;

const startBridgeHere = async () => {
  const config = validateConfig({
    homeserver: { url: synapse.url, domain: synapse.serverName },
    bridge: { bindAddress: "127.0.0.1", port: bridgePort },
    store: { path: storePath, encryptionKey: KEY },
    delivery: { retrySchedule: [0.3, 0.9], retries: 2, timeoutSeconds: 3, allowedNetworks: ["127.0.0.1/32"] },
    logging: { level: process.env.BRIDGE_LOG_LEVEL ?? "error" },
  }, "test config");
  bridge = await WebhookBridge.start({ config, registration, log: createLogger(config.logging.level) });
};
const KEY = randomBytes(32).toString("base64");

/** Every handled transaction id with the number of events handled under it, from the store file. */
const handledTransactions = (): Map<string, number> => {
  const db = new Database(storePath, { readonly: true });
  try {
    const rows = db.prepare("SELECT txn_id, event_ids FROM handled_transactions").all() as Array<{ txn_id: string; event_ids: string | null }>;
    return new Map(rows.map((r) => [r.txn_id, r.event_ids ? (JSON.parse(r.event_ids) as unknown[]).length : 0]));
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  bridgePort = await freePort();
  const registrationPath = join(dir, "registration.yaml");
  await writeRegistrationFile(registrationPath, generateRegistration({ url: `http://127.0.0.1:${bridgePort}` }));
  registration = await loadRegistration(registrationPath);
  synapse = await startSynapse({ dataDir: join(dir, "synapse"), appserviceRegistrationFiles: [registrationPath], log: (line) => console.log(`[private synapse] ${line}`) });
  receiver = await Receiver.start();
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await synapse?.stop();
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a Synapse restart between two runs of the bridge", () => {
  it("delivers the messages after the restart, though Synapse numbers its transactions from 1 again", async () => {
    await startBridgeHere();
    const botUserId = `@${registration.senderLocalpart}:${synapse.serverName}`;
    const { userId, accessToken } = await registerWithSharedSecret(synapse.url, synapse.sharedSecret, uniqueName("admin"));
    const admin = new TestClient(synapse.url, userId, accessToken);
    const roomId = await roomWithBot(admin, botUserId);
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "sink", { name: "sink", url: `${receiver.url}/sink` });
    await botNotice(admin, roomId, botUserId, /Outbound hook "sink" active/);
    for (let i = 0; i < 3; i++) await receiver.waitFor(forEvent(await admin.sendMessage(roomId, `before the restart ${i}`)));
    await bridge!.stop();
    bridge = undefined;
    const before = handledTransactions();

    await synapse.restart();
    await startBridgeHere();
    const after: string[] = [];
    for (let i = 0; i < 3; i++) after.push(await admin.sendMessage(roomId, `after the restart ${i}`));
    for (const eventId of after) await receiver.waitFor(forEvent(eventId), 1, 20_000);
    await bridge!.stop();
    bridge = undefined;

    // The case at hand did happen: ids handled in the first run came again, with other events.
    const reused = [...handledTransactions()].filter(([id, events]) => before.has(id) && events > before.get(id)!);
    expect(reused.length).toBeGreaterThan(0);
    expect(after.map((id) => receiver.requests.filter(forEvent(id)).length)).toEqual([1, 1, 1]);
  }, 180_000);
});
