// docs/receivers.md's signature-checking receivers, taken from the doc and run as they are (Python
// with python3, JS with node), receive real signed multipart deliveries from the bridge: a file
// that is not UTF-8, and a text event (multipart through delivery.defaultFormat). Forged copies
// must be refused. Also: the standardwebhooks package verifies JSON deliveries, not multipart.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { freePort } from "../src/demo/synapse.js";
import type { TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { forEvent, Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, secretFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const DOC = join(dirname(fileURLToPath(import.meta.url)), "../docs/receivers.md");

/** The fenced block right after `<!-- tested: <name> -->` in the doc. */
function exampleFromDoc(name: string): string {
  const text = readFileSync(DOC, "utf8");
  const match = new RegExp(`<!-- tested: ${name.replace(/\./g, "\\.")} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
  if (!match) throw new Error(`docs/receivers.md has no block marked "tested: ${name}"`);
  return match[1]!;
}

/** A doc example running as its own process, with the lines it printed. */
interface RunningExample {
  name: string;
  url: string;
  secret: string;
  lines: string[];
  process: ChildProcess;
}

let bridge: BridgeUnderTest;
let capture: Receiver;
let admin: TestClient;
let roomId: string;
const dm = new Set<string>();
const examples: RunningExample[] = [];
const workDir = mkdtempSync(join(tmpdir(), "mwb-doc-examples-"));
let captureSecret = "";

async function signedHook(name: string, url: string): Promise<string> {
  await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, name, { name, url });
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Outbound hook "${name}" active`));
  await admin.sendMessage(roomId, `!hooks outbound sign ${name}`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`"${name}" are signed with a new secret`));
  return secretFromDm(admin, bridge.botUserId, `Signing secret for outbound hook "${name}"`, dm);
}

async function startExample(file: string, command: string): Promise<RunningExample> {
  const port = await freePort();
  const name = file.replace(/\W/g, "");
  const secret = await signedHook(name, `http://127.0.0.1:${port}/hook`);
  const path = join(workDir, file);
  writeFileSync(path, exampleFromDoc(file));
  const child = spawn(command, [path], { env: { ...process.env, HOOK_SIGNING_SECRET: secret, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  const example: RunningExample = { name, url: `http://127.0.0.1:${port}/hook`, secret, lines: [], process: child };
  let stderr = "";
  // Whole lines only: a line can arrive in two chunks of the pipe (seen in CI: "verified" then " msg_…").
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    example.lines.push(...parts.filter(Boolean));
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  examples.push(example);
  // Bounded: listening within 10 s, or the example's own error.
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${file} did not start (exit ${child.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return example;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Waits (bounded) until the example printed `count` lines matching. */
async function printed(example: RunningExample, line: RegExp, timeoutMs = 15_000, count = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (example.lines.filter((l) => line.test(l)).length < count) {
    if (Date.now() > deadline) throw new Error(`${example.name} printed no line matching ${line} (printed: ${JSON.stringify(example.lines)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends a copy of a captured delivery to an example, re-signed or not; returns the status. */
async function sendCopy(example: RunningExample, req: ReceivedRequest, change: { body?: Buffer; secret?: string; timestamp?: number; signature?: string } = {}): Promise<number> {
  const body = change.body ?? req.body;
  const id = `msg_copy_${randomBytes(4).toString("hex")}`;
  const timestamp = change.timestamp ?? Math.floor(Date.now() / 1000);
  const signWith = change.secret ?? example.secret;
  const signature = change.signature ?? `v1,${hmac(signWith, `${id}.${timestamp}.`, req.body)}`;
  const res = await fetch(example.url, {
    method: "PUT",
    headers: { "content-type": String(req.headers["content-type"]), "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

function hmac(secret: string, prefix: string, body: Buffer): string {
  return createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64")).update(prefix).update(body).digest("base64");
}

beforeAll(async () => {
  bridge = await startBridge({ delivery: { defaultFormat: "hookshot-multipart" } });
  capture = await Receiver.start();
  admin = (await registerUser(uniqueName("admin"))).client;
  roomId = await roomWithBot(admin, bridge.botUserId);
  captureSecret = await signedHook("capture", `${capture.url}/capture`);
  await startExample("verify-receiver.py", "python3");
  await startExample("verify-receiver.mjs", process.execPath);
});

afterAll(async () => {
  for (const example of examples) example.process.kill();
  await bridge?.stop();
  await capture?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("docs/receivers.md: verifying signed multipart deliveries", () => {
  let mediaDelivery: ReceivedRequest;

  it("both examples verify a signed multipart delivery whose file is not UTF-8", async () => {
    const file = Buffer.concat([Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28]), randomBytes(4000)]);
    const mxc = await admin.uploadMedia(file, "application/octet-stream");
    const eventId = await admin.sendMessage(roomId, { msgtype: "m.file", body: "blob.bin", url: mxc, info: { mimetype: "application/octet-stream", size: file.length } });
    mediaDelivery = (await capture.waitFor(forEvent(eventId)))[0]!;
    expect(String(mediaDelivery!.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
    expect(mediaDelivery!.body.includes(file)).toBe(true);
    expect(isUtf8(mediaDelivery!.body)).toBe(false);
    for (const example of examples) await printed(example, /^verified \S+/);
    for (const example of examples) expect(example.lines.filter((l) => l.startsWith("rejected")), example.name).toEqual([]);
  });

  it("both examples verify a text event, sent as multipart because of delivery.defaultFormat", async () => {
    const eventId = await admin.sendMessage(roomId, "plain text, multipart by default");
    const [req] = await capture.waitFor(forEvent(eventId));
    expect(String(req!.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
    const form = await new Response(req!.body, { headers: { "content-type": String(req!.headers["content-type"]) } }).formData();
    expect(JSON.parse(await (form.get("event") as File).text())).toMatchObject({ event_id: eventId, content: { body: "plain text, multipart by default" } });
    for (const example of examples) {
      await printed(example, /^verified \S+/, 15_000, 2);
      expect(example.lines.filter((l) => l.startsWith("rejected")), example.name).toEqual([]);
    }
  });

  it("both examples accept a correctly signed copy and refuse forged ones", async () => {
    const body = mediaDelivery.body;
    // One byte of the non-UTF-8 file changed (0xff → 0xfe): text-decoding verifiers see no difference.
    const at = body.indexOf(Buffer.from([0xff, 0xfe, 0x80]));
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(body);
    tampered[at] = 0xfe;
    for (const example of examples) {
      expect(await sendCopy(example, mediaDelivery), `${example.name}: genuine copy`).toBe(204);
      expect(await sendCopy(example, mediaDelivery, { body: tampered }), `${example.name}: tampered body`).toBe(401);
      expect(await sendCopy(example, mediaDelivery, { secret: captureSecret }), `${example.name}: another hook's secret`).toBe(401);
      expect(await sendCopy(example, mediaDelivery, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), `${example.name}: an hour old`).toBe(401);
      expect(await sendCopy(example, mediaDelivery, { signature: "v1,AAAA v2,xyz" }), `${example.name}: no valid entry`).toBe(401);
    }
  });

  it("both examples accept a header with two entries (a rotation) when the second one matches", async () => {
    for (const example of examples) {
      const id = "msg_rotation";
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = `v1,${hmac(captureSecret, `${id}.${timestamp}.`, mediaDelivery.body)} v1,${hmac(example.secret, `${id}.${timestamp}.`, mediaDelivery.body)}`;
      const res = await fetch(example.url, {
        method: "POST",
        headers: { "content-type": String(mediaDelivery.headers["content-type"]), "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature },
        body: mediaDelivery.body,
      });
      expect(res.status, example.name).toBe(204);
    }
  });

  it("the standardwebhooks package verifies JSON deliveries, but not a multipart one with a non-UTF-8 file", async () => {
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "capture", { name: "capture", url: `${capture.url}/capture`, format: "hookshot" });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "capture" updated/);
    const eventId = await admin.sendMessage(roomId, "as JSON");
    const [req] = await capture.waitFor(forEvent(eventId));
    expect(req!.headers["content-type"]).toBe("application/json");
    const headers = req!.headers as Record<string, string>;
    expect(new Webhook(captureSecret).verify(req!.body.toString("utf8"), headers)).toMatchObject({ event_id: eventId });
    // What the doc says the libraries cannot do (if they ever can, the doc should say so).
    expect(() => new Webhook(captureSecret).verify(mediaDelivery.body, mediaDelivery.headers as Record<string, string>)).toThrow();
  });
});
