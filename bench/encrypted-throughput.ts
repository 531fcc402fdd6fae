// Decrypt-and-deliver throughput: the same messages through the bridge to a receiver, in an
// encrypted room (Megolm, decrypted by the bridge's device on the WebAssembly crypto engine) and
// in an unencrypted one, alternating rounds in one run so both columns share the machine's state.
// The homeserver's transactions are PUT straight to the bridge (events made up, in real rooms on a
// real Synapse), so the figures are the bridge's own work: decrypt, route, store, deliver.
// Usage: npx tsx bench/encrypted-throughput.ts [messages per room, default 3000]
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EncryptionSettings } from "@matrix-org/matrix-sdk-crypto-nodejs";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { freePort, startSynapse } from "../src/demo/synapse.js";
import { TestClient } from "../src/demo/test-client.js";
import { generateRegistration, writeRegistrationFile } from "../src/matrix/registration.js";
import { startInProcessBridge } from "./in-process-bridge.js";
import { HeldKeyDevice } from "../spec/harness/held-key-device.js";
import { clock, fmt, fmtInt, sleep, table } from "./stats.js";

const perRoom = Number(process.argv[2] ?? 3000);
if (!Number.isInteger(perRoom) || perRoom < 100 || perRoom > 1_000_000) throw new Error(`messages per room must be 100..1000000, got ${process.argv[2]}`);
const PER_TRANSACTION = 100;
const ROUNDS = 4;

const dir = await mkdtemp(join(tmpdir(), "mwb-e2ee-bench-"));
const bridgePort = await freePort();
const registrationPath = join(dir, "registration.yaml");
await writeRegistrationFile(registrationPath, generateRegistration({ url: `http://127.0.0.1:${bridgePort}`, encryption: true }));
const synapse = await startSynapse({ dataDir: join(dir, "synapse"), appserviceRegistrationFiles: [registrationPath], log: (line) => console.log(`[bench] ${line}`) });
// The receiver counts deliveries per room (the Hookshot room header).
const received = new Map<string, number>();
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const room = String(req.headers["x-matrix-hookshot-roomid"]);
    received.set(room, (received.get(room) ?? 0) + 1);
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sink`;
const { bridge, registration, botUserId } = await startInProcessBridge({ synapse, bridgePort, registrationPath, dir, extra: { encryption: { enabled: true, storagePath: join(dir, "crypto") } } });

async function transaction(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${bridge.port}/_matrix/app/v1/transactions/bench-${randomBytes(6).toString("hex")}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${registration.hsToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [], ...body }),
  });
  if (res.status !== 200) throw new Error(`transaction answered ${res.status}: ${await res.text()}`);
}

async function roomWithHook(client: TestClient, encrypted: boolean): Promise<string> {
  const roomId = await client.createRoom({
    powerLevelContentOverride: { users: { [botUserId]: 50 } },
    ...(encrypted ? { initialState: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] } : {}),
  });
  await client.invite(roomId, botUserId);
  await client.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === botUserId && e.content.membership === "join", { timeoutMs: 30_000 });
  await client.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "sink", { name: "sink", url: receiverUrl });
  for (let i = 0; bridge.outbound.registry.forRoom(roomId).length === 0; i++) {
    if (i >= 300) throw new Error("the bridge never took the room's hook");
    await sleep(100);
  }
  return roomId;
}

/** Sends `events` in transactions of PER_TRANSACTION and waits until the room has them all; deliveries/s. */
async function round(roomId: string, events: Record<string, unknown>[]): Promise<number> {
  const before = received.get(roomId) ?? 0;
  const started = clock();
  for (let i = 0; i < events.length; i += PER_TRANSACTION) await transaction({ events: events.slice(i, i + PER_TRANSACTION) });
  for (let i = 0; (received.get(roomId) ?? 0) - before < events.length; i++) {
    if (i >= 600_000) throw new Error("deliveries never finished");
    await sleep(2);
  }
  return events.length / ((clock() - started) / 1000);
}

try {
  const { userId, accessToken } = await synapse.registerUser(`bench_${randomBytes(3).toString("hex")}`);
  const client = new TestClient(synapse.url, userId, accessToken);
  const plainRoom = await roomWithHook(client, false);
  const encryptedRoom = await roomWithHook(client, true);
  // The sender's device shares one Megolm session with the bridge's device (rotation off, as the
  // whole run is one session); its messages are encrypted before the clock starts.
  const sender = await HeldKeyDevice.start(synapse.url, accessToken);
  const settings = new EncryptionSettings();
  settings.rotationPeriodMessages = BigInt(ROUNDS * perRoom + 10);
  const body = (i: number) => ({ msgtype: "m.text", body: `message ${i}: ${"x".repeat(80)}` });
  const { heldKeys } = await sender.encryptHoldingKey(encryptedRoom, botUserId, body(-1), settings);
  await transaction({ "de.sorunome.msc2409.to_device": heldKeys });
  const made = (room: string, r: number, content: (i: number) => Promise<Record<string, unknown>> | Record<string, unknown>, type: string) =>
    Promise.all(Array.from({ length: perRoom }, async (_, i) => ({ event_id: `$bench-${r}-${room.slice(1, 8)}-${i}-${randomBytes(3).toString("hex")}`, room_id: room, sender: userId, type, origin_server_ts: Date.now(), content: await content(i) })));
  const results = { plain: [] as number[], encrypted: [] as number[] };
  const encryptStarted = clock();
  const encryptedRounds: Record<string, unknown>[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < perRoom; i++) events.push({ event_id: `$bench-e-${r}-${i}-${randomBytes(3).toString("hex")}`, room_id: encryptedRoom, sender: userId, type: "m.room.encrypted", origin_server_ts: Date.now(), content: await sender.encrypt(encryptedRoom, body(i)) });
    encryptedRounds.push(events);
  }
  const encryptMs = clock() - encryptStarted;
  for (let r = 0; r < ROUNDS; r++) {
    // A warm-up first round of each is run and left out.
    const plainRate = await round(plainRoom, await made(plainRoom, r, body, "m.room.message"));
    const encryptedRate = await round(encryptedRoom, encryptedRounds[r]!);
    if (r === 0) continue;
    results.plain.push(plainRate);
    results.encrypted.push(encryptedRate);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const plain = median(results.plain);
  const encrypted = median(results.encrypted);
  console.log(`\nDecrypt-and-deliver: ${perRoom} messages per room per round, ${ROUNDS - 1} measured rounds (after a warm-up), transactions of ${PER_TRANSACTION} PUT to the bridge, one receiver answering at once`);
  console.log(
    table([
      ["room", "deliveries/s (median)", "rounds"],
      ["unencrypted", fmtInt(plain), results.plain.map((x) => fmtInt(x)).join(", ")],
      ["encrypted (Megolm)", fmtInt(encrypted), results.encrypted.map((x) => fmtInt(x)).join(", ")],
      ["encrypted ÷ unencrypted", fmt(encrypted / plain, 2), ""],
    ]),
  );
  console.log(`(the sender's side, not the bridge's: encrypting ${fmtInt(ROUNDS * perRoom)} messages took ${fmt(encryptMs / 1000, 1)} s, ${fmt((encryptMs * 1000) / (ROUNDS * perRoom), 0)} µs each)`);
} finally {
  await bridge.stop();
  receiver.close();
  await synapse.stop();
  await rm(dir, { recursive: true, force: true });
}
