// The send latency a before-hook adds, the whole way: Synapse with the pre-send module asks the
// bridge's precheck route, the bridge asks the hook's receiver (Tencent's
// Group.CallbackBeforeSendMsg; it answers at once), and the verdict comes back before the send
// returns. Sends alternate between a room with a before-hook and one without (the bot in both), one
// at a time, so the two columns share the machine's state.
// Usage: npx tsx bench/before-send-latency.ts [messages per room, default 1000]
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { freePort, startSynapse } from "../src/demo/synapse.js";
import { TestClient } from "../src/demo/test-client.js";
import { generateRegistration, writeRegistrationFile } from "../src/matrix/registration.js";
import { startInProcessBridge } from "./in-process-bridge.js";
import { clock, fmt, sleep, summarize, table } from "./stats.js";

const perRoom = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(perRoom) || perRoom < 1 || perRoom > 100_000) throw new Error(`messages per room must be 1..100000, got ${process.argv[2]}`);

const dir = await mkdtemp(join(tmpdir(), "mwb-before-send-bench-"));
const bridgePort = await freePort();
const secret = randomBytes(24).toString("hex");
const registrationPath = join(dir, "registration.yaml");
await writeRegistrationFile(registrationPath, generateRegistration({ url: `http://127.0.0.1:${bridgePort}` }));
const synapse = await startSynapse({
  dataDir: join(dir, "synapse"),
  appserviceRegistrationFiles: [registrationPath],
  pythonPath: [fileURLToPath(new URL("../synapse-module", import.meta.url))],
  modules: [{ module: "matrix_webhook_bridge_precheck.PrecheckModule", config: { bridge_url: `http://127.0.0.1:${bridgePort}`, secret } }],
  log: (line) => console.log(`[bench] ${line}`),
});
let asked = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    asked++;
    res.writeHead(200, { "content-type": "application/json" }).end('{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/im`;
const { bridge, botUserId } = await startInProcessBridge({ synapse, bridgePort, registrationPath, dir, extra: { callbacks: { precheck: { secret } } } });

/** A room with the bot joined (bounded wait). */
async function roomWithBot(client: TestClient): Promise<string> {
  const roomId = await client.createRoom({ powerLevelContentOverride: { users: { [botUserId]: 50 } } });
  await client.invite(roomId, botUserId);
  await client.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === botUserId && e.content.membership === "join", { timeoutMs: 30_000 });
  return roomId;
}

try {
  const { userId, accessToken } = await synapse.registerUser(`bench_${randomBytes(3).toString("hex")}`);
  const client = new TestClient(synapse.url, userId, accessToken);
  const gated = await roomWithBot(client);
  const plain = await roomWithBot(client);
  await client.sendStateEvent(gated, OUTBOUND_HOOK_EVENT_TYPE, "gate", { name: "gate", url: receiverUrl, format: "tencent", phase: "before" });
  // The bridge knows the hook once a message of the room reaches the receiver.
  for (let i = 0; asked === 0; i++) {
    if (i >= 100) throw new Error("the before-hook was never asked: the bridge did not take the hook");
    await client.sendMessage(gated, `warm-up ${i}`);
    await sleep(100);
  }
  for (let i = 0; i < 20; i++) await client.sendMessage(i % 2 ? gated : plain, `warm-up ${i}`);
  const askedBefore = asked;
  const times = new Map<string, number[]>([[gated, []], [plain, []]]);
  for (let i = 0; i < 2 * perRoom; i++) {
    const room = i % 2 ? gated : plain;
    const started = clock();
    await client.sendMessage(room, `message ${i}`);
    times.get(room)!.push(clock() - started);
  }
  const withHook = summarize(times.get(gated)!);
  const without = summarize(times.get(plain)!);
  console.log(`\nBefore-hook send latency: Synapse ${synapse.url} with the pre-send module → bridge → receiver answering at once; ${perRoom} sends per room, one at a time (ms)`);
  console.log(
    table([
      ["room", "n", "p50", "p99", "max"],
      ["with a before-hook", String(withHook.n), fmt(withHook.p50), fmt(withHook.p99), fmt(withHook.max)],
      ["without", String(without.n), fmt(without.p50), fmt(without.p99), fmt(without.max)],
      ["added by the hook", "", fmt(withHook.p50 - without.p50), fmt(withHook.p99 - without.p99), ""],
    ]),
  );
  console.log(`the receiver was asked ${asked - askedBefore} times (expected ${perRoom})`);
} finally {
  await bridge.stop();
  receiver.close();
  await synapse.stop();
  await rm(dir, { recursive: true, force: true });
}
