// Durable delivery on a real Synapse: retry policy, dead letters, disabling, pause/resume, replay,
// Standard Webhooks signatures and the SSRF guard. Real receivers on 127.0.0.1.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { forEvent, Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, secretFromDm, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let receiver: Receiver;
let admin: TestClient;
let roomId: string;
const dm = new Set<string>();
/** Per path: how the receiver answers (default 200). */
const behaviour = new Map<string, (req: ReceivedRequest, nth: number) => { status: number; headers?: Record<string, string>; delayMs?: number }>();

// Failing continuously for 0.002 h (7.2 s) disables a hook; retries: 0.3 s then 0.6 s.
const config = {
  delivery: { retries: 2, retrySchedule: [0.3, 0.6], disableAfterFailingHours: 0.002, timeoutSeconds: 12, signingKeyGraceHours: 1, allowedNetworks: ["127.0.0.1/32", "::1/128"] },
};

beforeAll(async () => {
  bridge = await startBridge(config);
  receiver = await Receiver.start();
  receiver.respondWith((req) => {
    const path = req.path.split("?")[0]!;
    const rule = behaviour.get(path);
    return rule ? rule(req, receiver.requests.filter((r) => r.path === req.path).length) : { status: 200 };
  });
  admin = (await registerUser(uniqueName("admin"))).client;
  roomId = await roomWithBot(admin, bridge.botUserId);
});

afterAll(async () => {
  await bridge?.stop();
  await receiver?.stop();
});

async function addHook(name: string, extra = ""): Promise<string> {
  await admin.sendMessage(roomId, `!hooks outbound add ${name} ${receiver.url}/${name}${extra}`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Outbound hook "${name}" added`));
  return tokenFromDm(admin, bridge.botUserId, name, dm);
}

const toHook = (name: string, eventId: string) => (r: ReceivedRequest) => r.path === `/${name}` && forEvent(eventId)(r);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("retry policy", () => {
  it("honours Retry-After from a 429", async () => {
    await addHook("ratelimited");
    behaviour.set("/ratelimited", (_req, nth) => (nth === 1 ? { status: 429, headers: { "retry-after": "2" } } : { status: 200 }));
    const eventId = await admin.sendMessage(roomId, "slow down");
    const [first, second] = await receiver.waitFor(toHook("ratelimited", eventId), 2);
    // The schedule alone would retry after 0.3 s.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
  });

  it("dead-letters a 4xx at once, with a notice, and replays it on request", async () => {
    await addHook("rejecting");
    behaviour.set("/rejecting", () => ({ status: 400 }));
    const eventId = await admin.sendMessage(roomId, "you will not like this");
    await botNotice(admin, roomId, bridge.botUserId, /"rejecting" could not deliver event .*HTTP 400, which is not retried/);
    expect(receiver.requests.filter(toHook("rejecting", eventId))).toHaveLength(1);

    await admin.sendMessage(roomId, "!hooks outbound status rejecting");
    const status = await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "rejecting": active/);
    expect(status.content.body).toMatch(/Dead letters: 1\./);
    expect(status.content.body).toMatch(/attempt 1: failed, HTTP 400, \d+ ms/);

    behaviour.set("/rejecting", () => ({ status: 200 }));
    await admin.sendMessage(roomId, "!hooks outbound replay rejecting --dead");
    await botNotice(admin, roomId, bridge.botUserId, /Queued 1 delivery to "rejecting" again/);
    const attempts = await receiver.waitFor(toHook("rejecting", eventId), 2);
    // The same webhook-id on every attempt, so receivers can drop duplicates.
    expect(attempts[1]!.headers["webhook-id"]).toBe(attempts[0]!.headers["webhook-id"]);

    await admin.sendMessage(roomId, `!hooks outbound replay rejecting ${eventId}`);
    await botNotice(admin, roomId, bridge.botUserId, /Queued 1 delivery to "rejecting" again/);
    await receiver.waitFor(toHook("rejecting", eventId), 3);

    // An event the homeserver does not know names nothing to replay.
    await admin.sendMessage(roomId, "!hooks outbound replay rejecting $no-such-event");
    await botNotice(admin, roomId, bridge.botUserId, /I cannot see event \$no-such-event in this room/);
  });

  it("dead-letters after the last retry, with a notice", async () => {
    await addHook("broken");
    behaviour.set("/broken", () => ({ status: 503 }));
    const eventId = await admin.sendMessage(roomId, "into the void");
    await botNotice(admin, roomId, bridge.botUserId, /"broken" could not deliver event .*HTTP 503 after 3 attempts/);
    expect(receiver.requests.filter(toHook("broken", eventId))).toHaveLength(3);
  });

  it("disables a hook that keeps failing, and resumes it on command", async () => {
    await addHook("flaky");
    behaviour.set("/flaky", () => ({ status: 500 }));
    for (let i = 0; i < 10; i++) {
      await admin.sendMessage(roomId, `flaky ${i}`);
      await sleep(900);
      const notices = await admin.messages(roomId, { limit: 30 });
      if (notices.chunk.some((e) => /"flaky" is disabled: its deliveries have failed/.test(String(e.content.body)))) break;
    }
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "flaky" is disabled: its deliveries have failed for \d+ hours? without a single success/);
    const waiting = await admin.sendMessage(roomId, "while disabled");
    await sleep(1500);
    expect(receiver.requests.filter(toHook("flaky", waiting))).toHaveLength(0);
    behaviour.set("/flaky", () => ({ status: 200 }));
    await admin.sendMessage(roomId, "!hooks outbound resume flaky");
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "flaky" resumed/);
    await receiver.waitFor(toHook("flaky", waiting));
  });

  it("disables a hook at once on 410 Gone", async () => {
    await addHook("gone");
    behaviour.set("/gone", () => ({ status: 410 }));
    const first = await admin.sendMessage(roomId, "anyone there?");
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "gone" is disabled: the receiver answered 410 Gone/);
    const second = await admin.sendMessage(roomId, "hello?");
    await sleep(1500);
    expect(receiver.requests.filter(toHook("gone", first))).toHaveLength(1);
    expect(receiver.requests.filter(toHook("gone", second))).toHaveLength(0);
  });
});

describe("pause and resume", () => {
  it("holds deliveries while paused and sends them on resume", async () => {
    await addHook("pausable");
    await admin.sendMessage(roomId, "!hooks outbound pause pausable");
    await botNotice(admin, roomId, bridge.botUserId, /"pausable" paused/);
    const eventId = await admin.sendMessage(roomId, "held back");
    await sleep(1500);
    expect(receiver.requests.filter(toHook("pausable", eventId))).toHaveLength(0);
    await admin.sendMessage(roomId, "!hooks outbound status pausable");
    await botNotice(admin, roomId, bridge.botUserId, /"pausable": suspended \(paused by .*\)[\s\S]*Waiting: 1\./);
    await admin.sendMessage(roomId, "!hooks outbound resume pausable");
    await receiver.waitFor(toHook("pausable", eventId));
  });
});

describe("independent hooks", () => {
  it("keeps delivering to a fast hook while another hangs for 10 s", async () => {
    await addHook("hanging");
    await addHook("fast");
    behaviour.set("/hanging", () => ({ status: 200, delayMs: 10_000 }));
    const events: string[] = [];
    for (let i = 0; i < 10; i++) events.push(await admin.sendMessage(roomId, `burst ${i}`));
    const fast = await receiver.waitFor((r) => r.path === "/fast" && events.includes(String(r.headers["x-matrix-hookshot-eventid"])), 10, 9000);
    const hangingStarted = receiver.requests.filter((r) => r.path === "/hanging");
    // Every fast delivery arrived while the hanging endpoint had not answered even its first request.
    expect(fast).toHaveLength(10);
    expect(hangingStarted.length).toBeGreaterThan(0);
    expect(Math.max(...fast.map((r) => r.at))).toBeLessThan(hangingStarted[0]!.at + 10_000);
    await admin.sendMessage(roomId, "!hooks outbound remove hanging");
    await botNotice(admin, roomId, bridge.botUserId, /"hanging" removed/);
  });
});

describe("ordering", () => {
  it("holds later events back while an earlier one is retried, when the hook asks for strict order", async () => {
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "ordered", { name: "ordered", url: `${receiver.url}/ordered`, ordering: "strict" });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "ordered" active/);
    behaviour.set("/ordered", (_req, nth) => (nth <= 2 ? { status: 500 } : { status: 200 }));
    const events: string[] = [];
    for (let i = 0; i < 4; i++) events.push(await admin.sendMessage(roomId, `in order ${i}`));
    const reqs = await receiver.waitFor((r) => r.path === "/ordered", 6);
    expect(reqs.map((r) => r.headers["x-matrix-hookshot-eventid"])).toEqual([events[0], events[0], ...events]);
  });
});

describe("Standard Webhooks signatures", () => {
  it("signs deliveries so the standardwebhooks package verifies them, across a key rotation", async () => {
    await addHook("signed");
    await admin.sendMessage(roomId, "!hooks outbound sign signed");
    await botNotice(admin, roomId, bridge.botUserId, /"signed" are signed with a new secret/);
    const secret1 = await secretFromDm(admin, bridge.botUserId, 'Signing secret for outbound hook "signed"', dm);
    expect(secret1).toMatch(/^whsec_/);
    const e1 = await admin.sendMessage(roomId, "signed once");
    const [r1] = await receiver.waitFor(toHook("signed", e1));
    const headers1 = r1!.headers as Record<string, string>;
    expect(headers1["x-matrix-hookshot-token"]).toBeTruthy();
    expect(new Webhook(secret1).verify(r1!.body.toString(), headers1)).toMatchObject({ event_id: e1 });

    await admin.sendMessage(roomId, "!hooks outbound sign signed");
    await botNotice(admin, roomId, bridge.botUserId, /previous secret keeps signing alongside it/);
    const secret2 = await waitForNewSecret(secret1);
    const e2 = await admin.sendMessage(roomId, "signed twice");
    const [r2] = await receiver.waitFor(toHook("signed", e2));
    const headers2 = r2!.headers as Record<string, string>;
    expect(headers2["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(new Webhook(secret1).verify(r2!.body.toString(), headers2)).toMatchObject({ event_id: e2 });
    expect(new Webhook(secret2).verify(r2!.body.toString(), headers2)).toMatchObject({ event_id: e2 });

    await admin.sendMessage(roomId, "!hooks outbound unsign signed");
    await botNotice(admin, roomId, bridge.botUserId, /"signed" are no longer signed/);
    const e3 = await admin.sendMessage(roomId, "not signed");
    const [r3] = await receiver.waitFor(toHook("signed", e3));
    expect(r3!.headers["webhook-signature"]).toBeUndefined();
    expect(r3!.headers["webhook-id"]).toMatch(/^msg_/);
  });

  async function waitForNewSecret(old: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const secret = await secretFromDm(admin, bridge.botUserId, 'Signing secret for outbound hook "signed"', dm);
      if (secret !== old) return secret;
      await sleep(200);
    }
    throw new Error("no new signing secret arrived");
  }
});

describe("SSRF guard", () => {
  it("refuses private and loopback destinations that are not allow-listed, at add time", async () => {
    await admin.sendMessage(roomId, "!hooks outbound add internal http://10.1.2.3/hook");
    await botNotice(admin, roomId, bridge.botUserId, /Cannot add "internal": 10\.1\.2\.3 is a private address/);
    await admin.sendMessage(roomId, "!hooks outbound add other-loopback http://127.0.0.2:9/hook");
    await botNotice(admin, roomId, bridge.botUserId, /Cannot add "other-loopback": 127\.0\.0\.2 is a loopback address/);
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "metadata", { name: "metadata", url: "http://169.254.169.254/latest" });
    await botNotice(admin, roomId, bridge.botUserId, /Ignored outbound hook "metadata": 169\.254\.169\.254 is a link-local address/);
  });

  it("refuses at send time too: after a restart without the allow-list nothing reaches loopback", async () => {
    // A host name is resolved (and checked) at every connection; an IP literal is checked when loaded.
    const port = new URL(receiver.url).port;
    await admin.sendMessage(roomId, `!hooks outbound add byname http://localhost:${port}/byname`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "byname" added/);
    const eventBefore = await admin.sendMessage(roomId, "allowed");
    await receiver.waitFor(toHook("byname", eventBefore));

    await bridge.stop();
    bridge = await startBridge({ ...config, delivery: { ...config.delivery, allowedNetworks: [] } }, bridge.storePath);
    const eventId = await admin.sendMessage(roomId, "now refused");
    await botNotice(admin, roomId, bridge.botUserId, /"byname" could not deliver event .*not sent: .*localhost resolves to .* a loopback address/);
    await sleep(300);
    expect(receiver.requests.filter((r) => forEvent(eventId)(r))).toHaveLength(0);
    // Hooks whose URL is a loopback IP literal are not even loaded without the allow-list.
    await admin.sendMessage(roomId, "!hooks outbound status fast");
    await botNotice(admin, roomId, bridge.botUserId, /There is no outbound hook "fast" in this room/);
  });
});
