// The send latency the pre-send Synapse module adds when the "bridge" answers at once:
// sends alternate between a room with a before-hook (asked) and one without (not asked).
// No bridge runs: a stand-in answers {"verdict":"allow"} on the bridge's port.
// Usage: npx tsx bench/precheck-module-latency.ts [messages per room, default 300]
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startSynapse } from "../src/demo/synapse.js";
import { TestClient } from "../src/demo/test-client.js";
import { PrecheckStandIn, verdict } from "../spec/harness/precheck-bridge.js";
import { clock, fmt, summarize, table } from "./stats.js";

const perRoom = Number(process.argv[2] ?? 300);
if (!Number.isInteger(perRoom) || perRoom < 1 || perRoom > 100_000) throw new Error(`messages per room must be 1..100000, got ${process.argv[2]}`);

const dir = await mkdtemp(join(tmpdir(), "mwb-precheck-bench-"));
const bridgePort = await freePort();
const secret = randomBytes(24).toString("hex");
const synapse = await startSynapse({
  dataDir: join(dir, "synapse"),
  pythonPath: [fileURLToPath(new URL("../synapse-module", import.meta.url))],
  modules: [{ module: "matrix_webhook_bridge_precheck.PrecheckModule", config: { bridge_url: `http://127.0.0.1:${bridgePort}`, secret } }],
});
const standIn = await PrecheckStandIn.listen(bridgePort, secret);
standIn.respondWith(() => verdict({ verdict: "allow" }));
try {
  const { userId, accessToken } = await synapse.registerUser("bench");
  const client = new TestClient(synapse.url, userId, accessToken);
  const gated = await client.createRoom();
  await client.sendStateEvent(gated, "uk.half-shot.matrix-hookshot.outbound-hook", "gate", { name: "gate", url: "https://example.invalid/x", format: "tencent", phase: "before" });
  const plain = await client.createRoom();
  const times = new Map<string, number[]>([[gated, []], [plain, []]]);
  for (let i = 0; i < 20; i++) await client.sendMessage(i % 2 ? gated : plain, `warm-up ${i}`);
  for (let i = 0; i < 2 * perRoom; i++) {
    const room = i % 2 ? gated : plain;
    const started = clock();
    await client.sendMessage(room, `message ${i}`);
    times.get(room)!.push(clock() - started);
  }
  const withHook = summarize(times.get(gated)!);
  const without = summarize(times.get(plain)!);
  console.log(`pre-send module, stand-in bridge answering at once, ${perRoom} sends per room, one at a time (ms):`);
  console.log(
    table([
      ["room", "n", "p50", "p99", "max"],
      ["with a before-hook (asked)", String(withHook.n), fmt(withHook.p50), fmt(withHook.p99), fmt(withHook.max)],
      ["without (not asked)", String(without.n), fmt(without.p50), fmt(without.p99), fmt(without.max)],
      ["added", "", fmt(withHook.p50 - without.p50), fmt(withHook.p99 - without.p99), ""],
    ]),
  );
  console.log(`requests the stand-in received: ${standIn.requests.length} (expected ${perRoom + 10})`);
} finally {
  await standIn.close();
  await synapse.stop();
  await rm(dir, { recursive: true, force: true });
}
