// Failure notices on a real Synapse: a receiver that is down (a closed port on 127.0.0.1) makes
// the room hear ONE notice naming the cause after the threshold, none for later failures, and ONE
// when the receiver is back and a delivery gets through.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let admin: TestClient;
let roomId: string;
let receiver: Server | null = null;
const dm = new Set<string>();

// Four attempts per event (0.3 s, 0.6 s, 1 s apart); the room is told after the third in a row.
const config = {
  delivery: { retries: 3, retrySchedule: [0.3, 0.6, 1], jitter: 0, timeoutSeconds: 3, failureNoticeAfterAttempts: 3, allowedNetworks: ["127.0.0.1/32"] },
};

beforeAll(async () => {
  bridge = await startBridge(config);
  admin = (await registerUser(uniqueName("admin"))).client;
  roomId = await roomWithBot(admin, bridge.botUserId);
});

afterAll(async () => {
  await bridge?.stop();
  receiver?.closeAllConnections();
  receiver?.close();
});

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** A receiver on that port that answers 200 and records the event ids it got. */
async function receiverOn(port: number, received: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    received.push(String(req.headers["x-matrix-hookshot-eventid"]));
    req.resume();
    req.on("end", () => res.writeHead(200).end("ok"));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

async function failedAttempts(category: string): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`webhook_bridge_delivery_failures_total{category="${category}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** Waits (bounded) until `count` attempts have failed with `category`. */
async function untilFailed(category: string, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await failedAttempts(category)) < count) {
    if (Date.now() > deadline) throw new Error(`only ${await failedAttempts(category)} of ${count} ${category} failures within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const bodies = (events: MatrixEvent[], botUserId: string, match: RegExp) =>
  events.filter((e) => e.sender === botUserId && e.content.msgtype === "m.notice" && match.test(String(e.content.body))).map((e) => String(e.content.body));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("failure notices", () => {
  it("tells the room once that a hook's receiver refuses connections, and once that it delivers again", async () => {
    const port = await closedPort();
    await admin.sendMessage(roomId, `!hooks outbound add ci http://127.0.0.1:${port}/ci/build?key=s3cr3t`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "ci" added/);
    await tokenFromDm(admin, bridge.botUserId, "ci", dm);
    const [dmRoom] = [...dm];

    const failing = new RegExp(`^Outbound hook "ci" cannot deliver: connection refused \\(ECONNREFUSED\\) at http://127\\.0\\.0\\.1:${port}\\. `);
    await admin.sendMessage(roomId, "the receiver is down");
    const notice = await botNotice(admin, roomId, bridge.botUserId, failing, 20_000);
    expect(String(notice.content.body)).toMatch(/nothing accepts connections on that port.* 3 attempts in a row failed/);

    // More events, more failed attempts (four each): no second notice.
    for (let i = 0; i < 3; i++) await admin.sendMessage(roomId, `still down ${i}`);
    await untilFailed("connection-refused", 16);
    let timeline = (await admin.messages(roomId, { limit: 100 })).chunk;
    expect(bodies(timeline, bridge.botUserId, failing)).toHaveLength(1);

    // The receiver comes up: the next delivery gets through, and the room hears it once.
    const received: string[] = [];
    receiver = await receiverOn(port, received);
    const back = await admin.sendMessage(roomId, "are you back?");
    const recovered = /^Outbound hook "ci" delivers again to http:\/\/127\.0\.0\.1:\d+ after \d+ s; \d+ deliveries waited \(\d+ failed attempts\)\.$/;
    await botNotice(admin, roomId, bridge.botUserId, recovered, 20_000);
    const later = await admin.sendMessage(roomId, "and again");
    for (let i = 0; i < 100 && !received.includes(later); i++) await sleep(100);
    expect(received).toContain(back);
    expect(received).toContain(later);
    await sleep(1000);
    timeline = (await admin.messages(roomId, { limit: 100 })).chunk;
    expect(bodies(timeline, bridge.botUserId, failing)).toHaveLength(1);
    expect(bodies(timeline, bridge.botUserId, recovered)).toHaveLength(1);
    // Only the receiver's origin is ever shown: the path and query may carry secrets.
    expect(bodies(timeline, bridge.botUserId, /Outbound hook "ci"/).join("\n")).not.toMatch(/s3cr3t|\/ci\/build/);

    // The user who added the hook got both notices by DM too.
    await botNotice(admin, dmRoom!, bridge.botUserId, /: Outbound hook "ci" delivers again/);
    const dms = (await admin.messages(dmRoom!, { limit: 50 })).chunk;
    expect(bodies(dms, bridge.botUserId, new RegExp(`^In ${roomId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: Outbound hook "ci" (cannot deliver|delivers again)`))).toHaveLength(2);
  });
});
