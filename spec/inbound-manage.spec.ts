// An inbound hook managed with its URL (the webhooks RFC's GET/PATCH/DELETE with the token), its
// permissions, and edits and deletes of its messages: real Synapse, the bridge in this process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INBOUND_HOOK_EVENT_TYPE } from "../src/connections/inbound-hook-state.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { roomWithInboundHooks } from "./harness/inbound-room.js";
import { botNotice } from "./harness/rooms.js";

const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

let bridge: BridgeUnderTest;
let admin: TestClient;
let roomId: string;
let urls = new Map<string, string>();

beforeAll(async () => {
  bridge = await startBridge({ inbound: { rateLimitPerMinute: 600, rateLimitBurst: 50, allowIdentityOverride: true } });
  ({ admin, roomId, urls } = await roomWithInboundHooks(bridge, ["Deploys", "Other", "Gone"]));
});

afterAll(async () => {
  await bridge?.stop();
});

async function call(url: string, init: { method?: string; json?: unknown; body?: string } = {}) {
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  const res = await fetch(url, { method: init.method ?? "POST", ...(body !== undefined ? { body, headers: { "content-type": "application/json" } } : {}) });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const state = (name: string) => admin.getStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, name);
const event = (id: string) => admin.waitForEvent(roomId, (e) => e.event_id === id);

describe("an inbound hook managed with its URL", () => {
  it("GET answers the hook's name, room, user and permissions, never its secret", async () => {
    const url = urls.get("Deploys")!;
    const res = await call(url, { method: "GET" });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      ok: true, id: expect.any(String), name: "Deploys", avatar: null, room_id: roomId, user_id: expect.stringMatching(/^@webhook_ih_/), msgtype: "m.notice",
      expires_at: null, transformation_function: false, permissions: { send_messages: true, send_embeds: true, masquerade: true, upload_files: true },
    });
    expect(res.text).not.toContain(url.split("/").at(-1)!);
  });

  it("PATCH renames it and sets its avatar: written to room state, told in the room, and the next message shows it", async () => {
    const url = urls.get("Deploys")!;
    const res = await call(url, { method: "PATCH", json: { name: "Releases", avatar: PNG } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ name: "Releases", avatar: expect.stringMatching(/^mxc:\/\//) });
    expect(await state("Releases")).toEqual({ name: "Releases", avatar: res.json!.avatar });
    expect(await state("Deploys")).toEqual({});
    await botNotice(admin, roomId, bridge.botUserId, /Inbound hook "Deploys" was changed through its URL: renamed to "Releases", new avatar mxc:/);
    const posted = await call(url, { json: { text: "v1.2 is out" } });
    expect(posted.status, posted.text).toBe(200);
    const message = await event(posted.json!.event_id);
    const members = await admin.getJoinedMembers(roomId);
    expect(members[message.sender]).toMatchObject({ display_name: "Releases", avatar_url: res.json!.avatar });

    const removed = await call(url, { method: "PATCH", json: { remove: ["avatar"] } });
    expect(removed).toMatchObject({ status: 200, json: { name: "Releases", avatar: null } });
    expect(await state("Releases")).toEqual({ name: "Releases" });
  });

  it("PATCH refuses what it cannot do with the reason: a name taken (409), a bad field (400), a permission turned on (403)", async () => {
    const url = urls.get("Deploys")!; // now called "Releases"
    expect(await call(url, { method: "PATCH", json: { name: "Other" } })).toMatchObject({ status: 409, json: { ok: false, error: expect.stringContaining('"Other"') } });
    expect(await call(url, { method: "PATCH", json: { name: "x".repeat(33), colour: 1 } })).toMatchObject({ status: 400, json: { ok: false, error: expect.stringMatching(/"colour" is not a field.*name: .*33 characters/) } });
    expect(await call(url, { method: "PATCH", body: "{" })).toMatchObject({ status: 400, json: { error: "the body is not JSON" } });
    expect(await call(url, { method: "PATCH", json: { avatar: "data:image/png;base64,AAAA" } })).toMatchObject({ status: 400, json: { error: expect.stringContaining("not a PNG") } });
    expect((await call(url, { method: "GET" })).json).toMatchObject({ name: "Releases" });
  });

  it("a masquerade without the permission is refused, and the URL can turn permissions off but not on", async () => {
    const url = urls.get("Other")!;
    expect((await call(url, { json: { text: "as Grafana", username: "Grafana" } })).status).toBe(200);
    const off = await call(url, { method: "PATCH", json: { permissions: { masquerade: false } } });
    expect(off).toMatchObject({ status: 200, json: { permissions: { masquerade: false, send_messages: true } } });
    expect(await state("Other")).toEqual({ name: "Other", permissions: { masquerade: false } });
    await botNotice(admin, roomId, bridge.botUserId, /Inbound hook "Other" was changed through its URL: permission masquerade turned off/);
    expect(await call(url, { json: { text: "x", username: "Grafana" } })).toMatchObject({ status: 403, json: { ok: false, error: expect.stringContaining("masquerade") } });
    expect(await call(`${url}/discord`, { json: { content: "x", username: "Grafana" } })).toMatchObject({ status: 403, json: { code: 50013 } });
    expect(await call(url, { method: "PATCH", json: { permissions: { masquerade: true } } })).toMatchObject({ status: 403, json: { error: expect.stringContaining("room admin") } });
    expect((await call(url, { json: { text: "without a name" } })).status).toBe(200);
  });

  it("permissions set by command apply to every route, and other commands keep them", async () => {
    await admin.sendMessage(roomId, "!hooks inbound permissions Other --send-embeds off --masquerade on");
    await botNotice(admin, roomId, bridge.botUserId, /Permissions of inbound hook "Other" are now:\n- send_messages: on[^\n]*\n- send_embeds: off[^\n]*\n- masquerade: on/);
    expect(await state("Other")).toEqual({ name: "Other", permissions: { send_embeds: false, masquerade: true } });
    const plain = await call(urls.get("Other")!, { json: { text: "**bold** and <b>html</b>" } });
    expect(plain.status, plain.text).toBe(200);
    const message = await event(plain.json!.event_id);
    expect(message.content.formatted_body).toBeUndefined();
    expect(message.content.body).toContain("**bold**");
    expect(await call(`${urls.get("Other")}/discord`, { json: { embeds: [{ title: "t" }] } })).toMatchObject({ status: 403, json: { code: 50013 } });

    // The avatar command rewrites the state: the permissions stay.
    await admin.sendMessage(roomId, "!hooks inbound avatar Other mxc://example.org/avatar");
    await botNotice(admin, roomId, bridge.botUserId, /Inbound hook "Other" now posts with avatar mxc:\/\/example.org\/avatar/);
    expect(await state("Other")).toEqual({ name: "Other", avatar: "mxc://example.org/avatar", permissions: { send_embeds: false, masquerade: true } });

    await admin.sendMessage(roomId, "!hooks inbound permissions Other --send-messages off");
    await botNotice(admin, roomId, bridge.botUserId, /send_messages: off/);
    expect(await call(urls.get("Other")!, { json: { text: "x" } })).toMatchObject({ status: 403, json: { error: expect.stringContaining("send_messages") } });
    expect(await call(`${urls.get("Other")}/slack`, { json: { text: "x" } })).toMatchObject({ status: 403 });
    await admin.sendMessage(roomId, "!hooks inbound permissions Other --send-messages on");
    await botNotice(admin, roomId, bridge.botUserId, /send_messages: on[^\n]*\n- send_embeds: off/);
  });

  it("PATCH and DELETE of /messages/{event_id} edit and redact the hook's own message; anyone else's is 404", async () => {
    const url = urls.get("Deploys")!;
    const posted = await call(url, { json: { text: "build *running*" } });
    const id = posted.json!.event_id as string;
    const edited = await call(`${url}/messages/${encodeURIComponent(id)}`, { method: "PATCH", json: { text: "build *passed*" } });
    expect(edited).toMatchObject({ status: 200, json: { ok: true, event_id: id, edit_event_id: expect.stringMatching(/^\$/) } });
    const edit = await event(edited.json!.edit_event_id);
    expect(edit.content).toMatchObject({ "m.relates_to": { rel_type: "m.replace", event_id: id }, "m.new_content": { body: "build *passed*", formatted_body: "build <em>passed</em>" }, body: "* build *passed*" });

    const human = await admin.sendMessage(roomId, "a person's message");
    const others = await call(urls.get("Other")!, { json: { text: "other hook" } });
    for (const target of [human, others.json!.event_id as string, "$unknown"]) {
      for (const method of ["PATCH", "DELETE"]) {
        const res = await call(`${url}/messages/${encodeURIComponent(target)}`, { method, ...(method === "PATCH" ? { json: { text: "hijack" } } : {}) });
        expect([target, method, res.status, res.text]).toEqual([target, method, 404, "{}"]);
      }
    }

    const deleted = await call(`${url}/messages/${encodeURIComponent(id)}`, { method: "DELETE" });
    expect([deleted.status, deleted.text]).toEqual([204, ""]);
    const redacted = await admin.request<MatrixEvent>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(id)}`);
    expect(redacted.content).toEqual({});
    expect((await call(`${url}/messages/${encodeURIComponent(id)}`, { method: "DELETE" })).status).toBe(404);
  });

  it("DELETE removes the hook: its state is emptied, the room is told, and its URL answers 404", async () => {
    const url = urls.get("Gone")!;
    const res = await call(url, { method: "DELETE" });
    expect([res.status, res.text]).toEqual([204, ""]);
    expect(await state("Gone")).toEqual({});
    await botNotice(admin, roomId, bridge.botUserId, /Inbound hook "Gone" was deleted through its URL; it no longer works/);
    for (const method of ["GET", "POST", "DELETE"]) expect(await call(url, { method, ...(method === "POST" ? { json: { text: "x" } } : {}) })).toMatchObject({ status: 404, text: "{}" });
  });
});
