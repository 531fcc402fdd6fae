// Memory stays flat when the bridge sends a large file: a real Synapse, the bridge as a child
// process (so its peak RSS is its own), a small file then a 200 MB one sent as a plain m.file and
// as an EncryptedFile, and a receiver that streams each multipart body into a hash. Flat means
// the peak RSS after the large files is barely higher than after the small one (streams have a fixed
// working set plus GC slack; only a file held in memory would grow with its size). Prints figures.
//   npx tsx bench/media-memory.ts            (MEDIA_MB=200, SMALL_MB=10 by default)
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { roomWithBot, botNotice } from "../src/demo/demo-room.js";
import { freePort, startSynapse } from "../src/demo/synapse.js";
import { TestClient } from "../src/demo/test-client.js";
import { generateRegistration, writeRegistrationFile } from "../src/matrix/registration.js";
import { spawnBridge, type BridgeProcess } from "../spec/harness/bridge-process.js";

const MB = 1024 * 1024;
const SIZE = Number(process.env.MEDIA_MB ?? 200) * MB;
const SMALL = Number(process.env.SMALL_MB ?? 10) * MB;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mwb-media-bench-"));
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const bridgePort = await freePort();
    const registrationPath = join(dir, "registration.yml");
    const reg = generateRegistration({ url: `http://127.0.0.1:${bridgePort}` });
    await writeRegistrationFile(registrationPath, reg);
    const synapse = await startSynapse({ dataDir: join(dir, "synapse"), appserviceRegistrationFiles: [registrationPath] });
    stops.push(() => synapse.stop());

    // The receiver streams each body into a hash: it holds no body in memory either.
    let received: { bytes: number; sha256: string; done: number } | null = null;
    const server = createServer((req, res) => {
      const hash = createHash("sha256");
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on("end", () => {
        received = { bytes, sha256: hash.digest("hex"), done: Date.now() };
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stops.push(() => new Promise((r) => server.close(r)));
    const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/media`;

    const configPath = join(dir, "config.yml");
    writeFileSync(configPath, yaml.dump({
      homeserver: { url: synapse.url, domain: synapse.serverName },
      bridge: { bindAddress: "127.0.0.1", port: bridgePort },
      store: { path: join(dir, "bridge.db"), encryptionKey: randomBytes(32).toString("base64") },
      delivery: { allowedNetworks: ["127.0.0.1/32"], timeoutSeconds: 300 },
      media: { maxBytes: SIZE + MB, tempDir: join(dir, "media-tmp") },
      logging: { level: "warn" },
    }));
    const bridge: BridgeProcess = await spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "bridge.log") });
    stops.push(() => bridge.kill("SIGTERM"));
    const bot = `@${(reg as { sender_localpart: string }).sender_localpart}:${synapse.serverName}`;

    const { userId, accessToken } = await synapse.registerUser("bench");
    const admin = new TestClient(synapse.url, userId, accessToken);
    const roomId = await roomWithBot(admin, bot);
    await admin.sendStateEvent(roomId, "uk.half-shot.matrix-hookshot.outbound-hook", "media", { name: "media", url: receiverUrl });
    await botNotice(admin, roomId, bot, /Outbound hook "media" active/);
    // Warm up with a small delivery so the baseline includes a loaded bridge.
    await admin.sendMessage(roomId, "warm-up");
    await waitFor(() => received !== null, 10_000);
    const baseline = await bridge.peakRssBytes();

    const rows: string[][] = [];
    const peaks: number[] = [];
    const variants = [["plain m.file", SMALL], ["plain m.file", SIZE], ["EncryptedFile", SIZE]] as const;
    for (const [variant, size] of variants) {
      received = null;
      const plain = randomBytes(size);
      let content: Record<string, unknown>;
      if (variant === "plain m.file") {
        const mxc = await admin.uploadMedia(plain, "application/octet-stream", "big.bin");
        content = { msgtype: "m.file", body: "big.bin", url: mxc, info: { size, mimetype: "application/octet-stream" } };
      } else {
        const key = randomBytes(32);
        const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
        const cipher = createCipheriv("aes-256-ctr", key, iv);
        const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
        const mxc = await admin.uploadMedia(ciphertext, "application/octet-stream");
        content = {
          msgtype: "m.file", body: "big.bin", info: { size, mimetype: "application/octet-stream" },
          file: { url: mxc, v: "v2", iv: iv.toString("base64"), hashes: { sha256: createHash("sha256").update(ciphertext).digest("base64") },
            key: { kty: "oct", alg: "A256CTR", key_ops: ["encrypt", "decrypt"], k: key.toString("base64url"), ext: true } },
        };
      }
      const started = Date.now();
      await admin.sendMessage(roomId, content);
      await waitFor(() => received !== null && received.bytes > size, 600_000);
      const got = received!;
      const peak = await bridge.peakRssBytes();
      peaks.push(peak);
      rows.push([variant, `${(size / MB).toFixed(0)} MB`, `${(got.bytes / MB).toFixed(1)} MB`, `${((got.done - started) / 1000).toFixed(1)} s`, `${(peak / MB).toFixed(0)} MB`, `${((peak - baseline) / MB).toFixed(0)} MB`]);
    }
    console.log(`\nNode ${process.version}; bridge peak RSS (VmHWM, /proc) was ${(baseline / MB).toFixed(0)} MB after start-up and a warm-up delivery\n`);
    const head = ["variant", "file", "multipart body", "event → received", "peak RSS", "above start"];
    for (const row of [head, ...rows]) console.log(row.map((c, i) => c.padEnd(i === 0 ? 14 : 18)).join(""));
    const extra = (Math.max(peaks[1]!, peaks[2]!) - peaks[0]!) / MB;
    // A file held in memory would add at least its size; streams add GC and buffer slack only.
    const limit = (SIZE - SMALL) / MB / 4;
    console.log(`\nflat: ${extra < limit ? "yes" : "NO"} — the ${SIZE / MB} MB files raised the peak by ${extra.toFixed(0)} MB over the ${SMALL / MB} MB file ` +
      `(buffering them would add ≥ ${((SIZE - SMALL) / MB).toFixed(0)} MB; flat = under a quarter of that, ${limit.toFixed(0)} MB)`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

main().catch((err) => {
  console.error(`media-memory benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
