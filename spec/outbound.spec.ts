// Outbound hooks end to end: real Synapse, the bridge in this process, real HTTP receivers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { TestClient } from "../src/demo/test-client.js";
import type { BridgeUnderTest } from "./harness/bridge.js";
import { startRoomWithMember, type RoomWithMember } from "./harness/room-with-member.js";
import { forEvent, type Receiver } from "./harness/receiver.js";
import { botNotice, tokenFromDm } from "./harness/rooms.js";

let bridge: BridgeUnderTest;
let receiver: Receiver;
let admin: TestClient;
let member: TestClient;
let roomId: string;
let token: string;
const dmRooms = new Set<string>();

let started: RoomWithMember | undefined;

beforeAll(async () => {
  started = await startRoomWithMember();
  ({ bridge, receiver, admin, member, roomId } = started);
});

afterAll(async () => {
  await started?.stop();
});

describe("outbound hooks on a real Synapse", () => {
  it("lets a room admin add a hook by command: state written, token sent by DM only", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add ci ${receiver.url}/ci`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "ci" added/);
    const state = await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "ci");
    expect(state).toEqual({ name: "ci", url: `${receiver.url}/ci`, method: "PUT" });
    token = await tokenFromDm(admin, bridge.botUserId, "ci", dmRooms);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The token is in no room state and no room message.
    const timeline = await admin.messages(roomId, { limit: 100 });
    expect(JSON.stringify(timeline)).not.toContain(token);
  });

  it("PUTs a member's message with the Hookshot headers and the event as JSON", async () => {
    const eventId = await member.sendMessage(roomId, "hello hooks");
    const [req] = await receiver.waitFor(forEvent(eventId));
    expect(req!.method).toBe("PUT");
    expect(req!.path).toBe("/ci");
    expect(req!.headers["x-matrix-hookshot-roomid"]).toBe(roomId);
    expect(req!.headers["x-matrix-hookshot-token"]).toBe(token);
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["user-agent"]).toMatch(/^matrix-webhook-bridge\/\d+\.\d+\.\d+/);
    const body = JSON.parse(req!.body.toString());
    expect(body).toMatchObject({ event_id: eventId, room_id: roomId, sender: member.userId, type: "m.room.message", content: { msgtype: "m.text", body: "hello hooks" } });
    expect(typeof body.origin_server_ts).toBe("number");
  });

  it("delivers a redaction with its top-level redacts, as the homeserver sent it (room version 10)", async () => {
    // Room versions before 11 (Synapse 1.67's default is 10) carry `redacts` only at the top level.
    const { room_id: oldRoom } = await admin.request<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", {
      preset: "private_chat",
      room_version: "10",
      power_level_content_override: { users: { [admin.userId]: 100, [bridge.botUserId]: 50 } },
    });
    await admin.invite(oldRoom, bridge.botUserId);
    await admin.waitForEvent(oldRoom, (e) => e.type === "m.room.member" && e.state_key === bridge.botUserId && e.content.membership === "join", { timeoutMs: 15_000 });
    await admin.sendStateEvent(oldRoom, OUTBOUND_HOOK_EVENT_TYPE, "v10", { name: "v10", url: `${receiver.url}/v10` });
    await botNotice(admin, oldRoom, bridge.botUserId, /Outbound hook "v10" active/);
    const target = await admin.sendMessage(oldRoom, "soon redacted");
    await receiver.waitFor(forEvent(target));
    const redaction = await admin.redact(oldRoom, target, "oops");
    const [req] = await receiver.waitFor(forEvent(redaction));
    const body = JSON.parse(req!.body.toString());
    expect(body).toMatchObject({ type: "m.room.redaction", event_id: redaction, room_id: oldRoom, redacts: target, content: { reason: "oops" } });
  });

  it("retries 500s with growing delays until the receiver accepts", async () => {
    const failFirst = new Set<string>();
    receiver.respondWith((req) => {
      const id = String(req.headers["x-matrix-hookshot-eventid"]);
      const tries = receiver.requests.filter(forEvent(id)).length;
      if (id.startsWith("$") && failFirst.has(id) && tries <= 2) return { status: 500, body: "not yet" };
      return { status: 200 };
    });
    const eventId = await member.sendMessage(roomId, "retry me");
    failFirst.add(eventId);
    const attempts = await receiver.waitFor(forEvent(eventId), 3);
    receiver.respondWith(() => ({ status: 200 }));
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    // Schedule in the test config: 0.3 s then 0.9 s, no jitter.
    expect(gaps[0]).toBeGreaterThanOrEqual(250);
    expect(gaps[1]).toBeGreaterThan(gaps[0]!);
    expect(attempts.every((a) => a.headers["x-matrix-hookshot-token"] === token)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.filter(forEvent(eventId))).toHaveLength(3);
  });

  it("uses POST when the hook asks for it", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add poster ${receiver.url}/post --method POST`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "poster" added/);
    await tokenFromDm(admin, bridge.botUserId, "poster", dmRooms);
    const eventId = await member.sendMessage(roomId, "to both hooks");
    const reqs = await receiver.waitFor(forEvent(eventId), 2);
    expect(reqs.map((r) => `${r.method} ${r.path}`).sort()).toEqual(["POST /post", "PUT /ci"]);
  });

  it("refreshes a token: the next delivery carries the new one", async () => {
    await admin.sendMessage(roomId, "!hooks outbound token ci");
    await botNotice(admin, roomId, bridge.botUserId, /"ci" has a new token/);
    const fresh = await waitForNewToken(token);
    expect(fresh).not.toBe(token);
    const eventId = await member.sendMessage(roomId, "after refresh");
    const [req] = await receiver.waitFor((r) => forEvent(eventId)(r) && r.path === "/ci");
    expect(req!.headers["x-matrix-hookshot-token"]).toBe(fresh);
    token = fresh;
  });

  it("lists hooks on request", async () => {
    await admin.sendMessage(roomId, "!hooks outbound list");
    const notice = await botNotice(admin, roomId, bridge.botUserId, /Outbound hooks in this room/);
    expect(notice.content.body).toContain(`- ci: PUT ${receiver.url}/ci`);
    expect(notice.content.body).toContain(`- poster: POST ${receiver.url}/post`);
  });

  it("refuses commands from users without power, and changes nothing", async () => {
    await member.sendMessage(roomId, "!hooks outbound remove ci");
    await botNotice(member, roomId, bridge.botUserId, new RegExp(`Sorry ${escape(member.userId)}, managing hooks here needs power level 50 and you have 0`));
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "ci")).not.toBeNull();
  });

  it("never forwards the bot's own messages", async () => {
    const before = receiver.requests.length;
    await admin.sendMessage(roomId, "!hooks help");
    const help = await botNotice(admin, roomId, bridge.botUserId, /Webhook bridge commands/);
    const marker = await member.sendMessage(roomId, "marker after help");
    await receiver.waitFor(forEvent(marker), 2);
    const forwarded = receiver.requests.slice(before).map((r) => r.headers["x-matrix-hookshot-eventid"]);
    expect(forwarded).not.toContain(help.event_id);
    // The command itself is for the bot, not for the hooks.
    expect(new Set(forwarded)).toEqual(new Set([marker]));
  });

  it("removes a hook: no more deliveries to it", async () => {
    await admin.sendMessage(roomId, "!hooks outbound remove poster");
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "poster" removed/);
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "poster")).toEqual({});
    const eventId = await member.sendMessage(roomId, "after removal");
    await receiver.waitFor(forEvent(eventId), 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.filter(forEvent(eventId)).map((r) => r.path)).toEqual(["/ci"]);
  });

  async function waitForNewToken(old: string): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const current = await tokenFromDm(admin, bridge.botUserId, "ci", dmRooms);
      if (current !== old) return current;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("no new token arrived by DM");
  }
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
