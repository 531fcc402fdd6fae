// The appservice door and hook state edge cases, on a real Synapse with the bridge in this process.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { forEvent, Receiver } from "./harness/receiver.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let receiver: Receiver;
let admin: TestClient;
let member: TestClient;
let roomId: string;

beforeAll(async () => {
  bridge = await startBridge();
  receiver = await Receiver.start();
  admin = (await registerUser(uniqueName("admin"))).client;
  member = (await registerUser(uniqueName("member"))).client;
  // Anyone may send hook state in this room; the bridge's own rule (power level 50) must still apply.
  roomId = await roomWithBot(admin, bridge.botUserId, { invite: [member.userId], powerLevels: { events: { [OUTBOUND_HOOK_EVENT_TYPE]: 0 } } });
  await member.join(roomId);
});

afterAll(async () => {
  await bridge?.stop();
  await receiver?.stop();
});

const putTransaction = (txnId: string, events: unknown[], auth: { bearer?: string; query?: string; legacy?: boolean } = { bearer: bridge.hsToken }) => {
  const path = auth.legacy ? `/transactions/${txnId}` : `/_matrix/app/v1/transactions/${txnId}`;
  const query = auth.query === undefined ? "" : `?access_token=${encodeURIComponent(auth.query)}`;
  return fetch(`${bridge.url}${path}${query}`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...(auth.bearer ? { authorization: `Bearer ${auth.bearer}` } : {}) },
    body: JSON.stringify({ events }),
  });
};

const syntheticMessage = (body: string) => ({
  event_id: `$synthetic-${randomBytes(6).toString("hex")}`,
  room_id: roomId,
  sender: member.userId,
  type: "m.room.message",
  origin_server_ts: Date.now(),
  content: { msgtype: "m.text", body },
});

describe("hook state set directly in the room", () => {
  it("accepts state from a room admin and DMs the token to that admin", async () => {
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "direct", { name: "direct", url: `${receiver.url}/direct` });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "direct" active/);
    const token = await tokenFromDm(admin, bridge.botUserId, "direct");
    const eventId = await member.sendMessage(roomId, "via direct state");
    const [req] = await receiver.waitFor(forEvent(eventId));
    expect(req!.headers["x-matrix-hookshot-token"]).toBe(token);
  });

  it("ignores hook state from a user without enough power, with a notice", async () => {
    await member.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "sneaky", { name: "sneaky", url: `${receiver.url}/sneaky` });
    await botNotice(admin, roomId, bridge.botUserId, /Ignored outbound hook "sneaky" set by .*needs power level 50 \(they have 0\)/);
    const eventId = await member.sendMessage(roomId, "not for sneaky");
    await receiver.waitFor(forEvent(eventId));
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.filter((r) => r.path === "/sneaky")).toHaveLength(0);
  });

  it("answers malformed hook state with a notice saying what is wrong, and keeps working", async () => {
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "broken", { name: "broken", url: "ftp://example.org/x", method: "GET" });
    const notice = await botNotice(admin, roomId, bridge.botUserId, /Ignored outbound hook "broken"/);
    expect(notice.content.body).toMatch(/method: must be one of PUT, POST/);
    expect(notice.content.body).toMatch(/scheme "ftp" is not allowed/);
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "broken2", { url: 42 });
    await botNotice(admin, roomId, bridge.botUserId, /Ignored outbound hook "broken2": name: must have required property 'name'; url: must be string/);
    const eventId = await member.sendMessage(roomId, "still delivered");
    await receiver.waitFor((r) => forEvent(eventId)(r) && r.path === "/direct");
  });

  it("tells the admin what to do when the bot may not write state", async () => {
    const otherRoom = await roomWithBot(admin, bridge.botUserId, { botLevel: 0 });
    await admin.sendMessage(otherRoom, `!hooks outbound add nopower ${receiver.url}/nopower`);
    const notice = await botNotice(admin, otherRoom, bridge.botUserId, /I cannot write room state here/);
    expect(notice.content.body).toContain(`type ${OUTBOUND_HOOK_EVENT_TYPE}, state key "nopower"`);
    expect(await admin.getStateEvent(otherRoom, OUTBOUND_HOOK_EVENT_TYPE, "nopower")).toBeNull();
  });
});

describe("a redacted hook state event", () => {
  it("removes the hook (other redactions do not), says so in the room, and nothing more goes to it; the redaction itself still goes to the other hooks", async () => {
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "keep", { name: "keep", url: `${receiver.url}/keep` });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "keep" active/);
    const goneState = await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "gone", { name: "gone", url: `${receiver.url}/gone` });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "gone" active/);
    const before = await member.sendMessage(roomId, "before the redaction");
    await receiver.waitFor((r) => forEvent(before)(r) && r.path === "/gone");
    // Redacting anything else leaves the hooks alone.
    await member.redact(roomId, before);
    const still = await member.sendMessage(roomId, "after another redaction");
    await receiver.waitFor((r) => forEvent(still)(r) && r.path === "/gone");

    const redaction = await admin.redact(roomId, goneState, "this URL leaks");
    const notice = await botNotice(admin, roomId, bridge.botUserId, /Removed outbound hook "gone": its configuration was redacted by/);
    expect(String(notice.content.body)).toContain(admin.userId);
    await receiver.waitFor((r) => forEvent(redaction)(r) && r.path === "/keep");
    const after = await member.sendMessage(roomId, "after the redaction");
    await receiver.waitFor((r) => forEvent(after)(r) && r.path === "/keep");
    expect(receiver.requests.filter((r) => forEvent(after)(r) && r.path === "/gone")).toEqual([]);
    // The room goes back to one hook, as the tests below expect.
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "keep", {});
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "keep" removed/);
  });
});

describe("the appservice transaction endpoint", () => {
  it("refuses a missing or wrong hs_token", async () => {
    const missing = await putTransaction("t-missing", [], {});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ errcode: "M_UNAUTHORIZED" });
    const wrong = await putTransaction("t-wrong", [], { bearer: "not-the-token" });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ errcode: "M_FORBIDDEN" });
    const wrongQuery = await putTransaction("t-wrong2", [], { query: bridge.hsToken + "x" });
    expect(wrongQuery.status).toBe(403);
  });

  it("delivers a replayed transaction only once", async () => {
    const event = syntheticMessage("replayed");
    const txnId = `replay-${randomBytes(4).toString("hex")}`;
    expect((await putTransaction(txnId, [event])).status).toBe(200);
    expect((await putTransaction(txnId, [event])).status).toBe(200);
    // A different transaction carrying the same event creates no second job either.
    expect((await putTransaction(`${txnId}-again`, [event])).status).toBe(200);
    await receiver.waitFor(forEvent(event.event_id));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.filter(forEvent(event.event_id))).toHaveLength(1);
  });

  it("handles the events a re-used transaction id brings that it did not bring before, and nothing twice", async () => {
    // As Dendrite re-batches a retry whose 200 was lost: the same id, the first events and more.
    const first = syntheticMessage("first of the batch");
    const added = syntheticMessage("added on the retry");
    const command = { ...syntheticMessage("!hooks outbound list"), sender: admin.userId };
    const txnId = `rebatch-${randomBytes(4).toString("hex")}`;
    const since = Date.now();
    expect((await putTransaction(txnId, [first, command])).status).toBe(200);
    expect((await putTransaction(txnId, [first, command, added])).status).toBe(200);
    // The command again under another id (a homeserver re-sending it) does not run twice either.
    expect((await putTransaction(`${txnId}-other`, [command])).status).toBe(200);
    await receiver.waitFor(forEvent(added.event_id));
    await receiver.waitFor(forEvent(first.event_id));
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hooks in this room/);
    await bridge.bridge.router.idle();
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.filter(forEvent(first.event_id))).toHaveLength(1);
    expect(receiver.requests.filter(forEvent(added.event_id))).toHaveLength(1);
    const answers = (await admin.messages(roomId)).chunk.filter((e) => e.sender === bridge.botUserId && (e.origin_server_ts ?? 0) >= since && /Outbound hooks in this room/.test(String(e.content.body)));
    expect(answers).toHaveLength(1);
  });

  it("accepts the legacy path with ?access_token, as older homeservers send it", async () => {
    const event = syntheticMessage("legacy");
    const res = await putTransaction(`legacy-${randomBytes(4).toString("hex")}`, [event], { query: bridge.hsToken, legacy: true });
    expect(res.status).toBe(200);
    await receiver.waitFor(forEvent(event.event_id));
  });

  it("rejects a transaction without an events array, and skips malformed events", async () => {
    const bad = await fetch(`${bridge.url}/_matrix/app/v1/transactions/bad-body`, {
      method: "PUT",
      headers: { authorization: `Bearer ${bridge.hsToken}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    const good = syntheticMessage("after junk");
    const mixed = await putTransaction(`mixed-${randomBytes(4).toString("hex")}`, [null, 5, { type: "m.room.message" }, good]);
    expect(mixed.status).toBe(200);
    await receiver.waitFor(forEvent(good.event_id));
  });

  it("answers the homeserver's ping and health checks", async () => {
    const ping = await fetch(`${bridge.url}/_matrix/app/v1/ping`, { method: "POST", headers: { authorization: `Bearer ${bridge.hsToken}` }, body: "{}" });
    expect(ping.status).toBe(200);
    const health = await fetch(`${bridge.url}/health`);
    expect(await health.json()).toMatchObject({ status: "ok" });
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/webhook_bridge_deliveries_total\{outcome="success"\} \d+/);
    expect(metrics).toMatch(/webhook_bridge_delivery_attempt_seconds_bucket/);
  });
});
