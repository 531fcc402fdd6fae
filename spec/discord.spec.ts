// The Discord-compatible route end to end: real Synapse, the bridge in this process, a real HTTP client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INBOUND_HOOK_EVENT_TYPE } from "../src/connections/inbound-hook-state.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { PER_MESSAGE_PROFILE_KEY } from "../src/inbound/content.js";
import { AttachmentBuilder, EmbedBuilder, WebhookClient } from "discord.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { roomWithInboundHooks } from "./harness/inbound-room.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const LOG = Buffer.from("step 1 ok\nstep 2 ok\n");

let bridge: BridgeUnderTest;
let admin: TestClient;
let roomId: string;
let urls = new Map<string, string>();

beforeAll(async () => {
  bridge = await startBridge({ inbound: { rateLimitPerMinute: 600, rateLimitBurst: 50, allowIdentityOverride: true } });
  ({ admin, roomId, urls } = await roomWithInboundHooks(bridge, ["Alerts", "Other"]));
  urls = new Map([...urls].map(([name, url]) => [name, `${url}/discord`]));
});

afterAll(async () => {
  await bridge?.stop();
});

async function call(url: string, init: { method?: string; body?: FormData | string; json?: unknown } = {}) {
  const res = await fetch(url, {
    method: init.method ?? "POST",
    ...(init.json !== undefined ? { body: JSON.stringify(init.json), headers: { "content-type": "application/json" } } : init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const event = (id: string) => admin.waitForEvent(roomId, (e) => e.event_id === id);
const messageUrl = (hook: string, id: string) => `${urls.get(hook)}/messages/${encodeURIComponent(id)}`;

async function download(mxc: string): Promise<Buffer> {
  const res = await fetch(`${admin.hsUrl}/_matrix/client/v1/media/download/${mxc.slice("mxc://".length)}`, { headers: { authorization: `Bearer ${admin.accessToken}` } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe("the Discord route on a real Synapse", () => {
  let messageId: string;
  let fileIds: string[] = [];

  it("posts content, embeds and files readable in the room, and ?wait=true answers the message object", async () => {
    const form = new FormData();
    form.set("payload_json", JSON.stringify({
      content: "Deploy of **api** finished",
      embeds: [{
        title: "Build #42", url: "https://ci.example/42", description: "All checks *passed*", color: 0x2ecc71, timestamp: "2026-12-02T07:30:00Z",
        author: { name: "CI" }, footer: { text: "ci.example" }, image: { url: "https://ci.example/chart.png" },
        fields: [{ name: "Branch", value: "main", inline: true }, { name: "Duration", value: "3m", inline: true }, { name: "Notes", value: "none" }],
      }],
      attachments: [{ id: 1, description: "build log" }],
    }));
    form.set("files[0]", new Blob([PNG], { type: "image/png" }), "chart.png");
    form.set("files[1]", new Blob([LOG], { type: "text/plain" }), "build.log");
    const res = await call(`${urls.get("Alerts")}?wait=true`, { body: form });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      id: expect.stringMatching(/^\$/), type: 0, content: "Deploy of **api** finished", channel_id: roomId, webhook_id: expect.any(String),
      author: { username: "Alerts", bot: true }, embeds: [{ title: "Build #42", color: 0x2ecc71 }],
      attachments: [{ filename: "chart.png", content_type: "image/png", size: PNG.length, width: 1, height: 1 }, { filename: "build.log", description: "build log", size: LOG.length }],
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), edited_timestamp: null,
    });
    messageId = res.json!.id;
    const text = await event(messageId);
    expect(text.content.body).toBe([
      "Deploy of **api** finished", "", "> CI", "> Build #42 (https://ci.example/42)", "> All checks *passed*", "> Branch: main | Duration: 3m", "> Notes: none",
      "> Image: https://ci.example/chart.png", "> ci.example • 2026-12-02 07:30 UTC",
    ].join("\n"));
    expect(text.content.formatted_body).toContain('Deploy of <strong>api</strong> finished<blockquote><font data-mx-color="#2ecc71"');
    expect(text.content.formatted_body).toContain('<strong><a href="https://ci.example/42">Build #42</a></strong>');
    expect(text.content.formatted_body).toContain("<th>Branch</th><th>Duration</th>");
    // The files come after the text, by the same user, and their media are the bytes sent.
    const after = (await admin.messages(roomId, { limit: 20 })).chunk.filter((e) => e.type === "m.room.message" && e.sender === text.sender).reverse();
    const files = after.slice(after.findIndex((e) => e.event_id === messageId) + 1, after.findIndex((e) => e.event_id === messageId) + 3);
    expect(files.map((e: MatrixEvent) => [e.content.msgtype, e.content.body, e.content.info])).toEqual([
      ["m.image", "chart.png", { mimetype: "image/png", size: PNG.length, w: 1, h: 1 }],
      ["m.file", "build log", { mimetype: "text/plain", size: LOG.length }],
    ]);
    fileIds = files.map((e) => e.event_id);
    expect((await download(String(files[0]!.content.url))).equals(PNG)).toBe(true);
    expect((await download(String(files[1]!.content.url))).equals(LOG)).toBe(true);
  });

  it("answers 204 without ?wait=true, as Discord does, and the message is in the room", async () => {
    const res = await call(urls.get("Alerts")!, { json: { content: "quiet one" } });
    expect([res.status, res.text]).toEqual([204, ""]);
    await admin.waitForEvent(roomId, (e) => e.content.body === "quiet one");
  });

  it("PATCH edits the message (an m.replace in the room), GET shows the edit, DELETE redacts it", async () => {
    const patched = await call(messageUrl("Alerts", messageId), { method: "PATCH", json: { content: "Deploy of **api** rolled back" } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ id: messageId, content: "Deploy of **api** rolled back", embeds: [{ title: "Build #42" }], edited_timestamp: expect.any(String) });
    const edit = await admin.waitForEvent(roomId, (e) => (e.content["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined)?.event_id === messageId);
    expect(edit.content).toMatchObject({ "m.relates_to": { rel_type: "m.replace", event_id: messageId }, "m.new_content": { body: expect.stringMatching(/^Deploy of \*\*api\*\* rolled back\n\n> CI/) } });
    const got = await call(messageUrl("Alerts", messageId), { method: "GET" });
    expect(got).toMatchObject({ status: 200, json: { id: messageId, content: "Deploy of **api** rolled back", edited_timestamp: expect.any(String) } });
    expect(got.json!.attachments).toHaveLength(2);

    const deleted = await call(messageUrl("Alerts", messageId), { method: "DELETE" });
    expect([deleted.status, deleted.text]).toEqual([204, ""]);
    const redacted = await admin.request<MatrixEvent>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(messageId)}`);
    expect(redacted.content).toEqual({});
    // Its files go with it, as in Discord.
    expect(fileIds).toHaveLength(2);
    for (const fileId of fileIds) {
      const file = await admin.request<MatrixEvent>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(fileId)}`);
      expect(file.content).toEqual({});
    }
    expect(await call(messageUrl("Alerts", messageId), { method: "GET" })).toMatchObject({ status: 404, json: { message: "Unknown Message", code: 10008 } });
  });

  it("answers Unknown Message for another hook's message and for anyone else's", async () => {
    const mine = await call(`${urls.get("Alerts")}?wait=true`, { json: { content: "mine" } });
    const human = await admin.sendMessage(roomId, "a person's message");
    for (const id of [mine.json!.id as string, human]) {
      for (const method of ["GET", "PATCH", "DELETE"]) {
        const res = await call(messageUrl("Other", id), { method, ...(method === "PATCH" ? { json: { content: "hijack" } } : {}) });
        expect([id, method, res.status, res.json]).toEqual([id, method, 404, { message: "Unknown Message", code: 10008 }]);
      }
    }
    expect((await event(mine.json!.id)).content.body).toBe("mine");
  });

  it("shows a username with the masquerade permission, and refuses it (403) once the hook's state takes it away", async () => {
    const res = await call(`${urls.get("Other")}?wait=true`, { json: { content: "disk full", username: "Grafana" } });
    expect(res.status, res.text).toBe(200);
    expect((await event(res.json!.id)).content).toMatchObject({ body: "Grafana: disk full", [PER_MESSAGE_PROFILE_KEY]: { displayname: "Grafana" } });
    await admin.sendStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "Other", { name: "Other", permissions: { masquerade: false } });
    // The bridge reads the state from its transaction: bounded wait for the change to apply.
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 50 && refused?.status !== 403; i++) {
      refused = await call(urls.get("Other")!, { json: { content: "x", username: "Grafana" } });
      if (refused.status !== 403) await new Promise((r) => setTimeout(r, 200));
    }
    expect(refused).toMatchObject({ status: 403, json: { message: "Missing Permissions", code: 50013 } });
    expect((await call(urls.get("Other")!, { json: { content: "without a name" } })).status).toBe(204);
  });

  it("checks Discord's limits with Discord's 400 answers", async () => {
    const url = urls.get("Alerts")!;
    expect(await call(url, { json: { content: "x".repeat(2001) } })).toMatchObject({
      status: 400, json: { message: "Invalid Form Body", code: 50035, errors: { content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." }] } } },
    });
    expect(await call(url, { json: { embeds: Array.from({ length: 11 }, () => ({ title: "t" })) } })).toMatchObject({ status: 400, json: { code: 50035, errors: { embeds: { _errors: [{ message: "Must be 10 or fewer in length." }] } } } });
    expect(await call(url, { json: { embeds: [{ description: "d".repeat(4000) }, { description: "d".repeat(2001) }] } })).toMatchObject({ status: 400, json: { code: 50035, errors: { embeds: { _errors: [{ code: "MAX_EMBED_SIZE_EXCEEDED" }] } } } });
    expect(await call(url, { json: { embeds: [{ fields: [{ name: "n", value: "v".repeat(1025) }] }] } })).toMatchObject({ status: 400, json: { errors: { embeds: { 0: { fields: { 0: { value: {} } } } } } } });
    expect(await call(url, { json: {} })).toMatchObject({ status: 400, json: { message: "Cannot send an empty message", code: 50006 } });
  });
});

describe("discord.js's WebhookClient against the bridge (Discord's URL shape /api/v10/webhooks/{id}/{token})", () => {
  it("sends with embeds and a file, fetches, edits and deletes a message, and reads and renames the webhook", async () => {
    const token = urls.get("Other")!.split("/webhook/")[1]!.replace(/\/discord$/, "");
    const hookId = String((await call(`${bridge.url}/webhook/${token}`, { method: "GET" })).json!.id);
    const client = new WebhookClient({ id: hookId, token }, { rest: { api: `${bridge.url}/api`, retries: 0 } });
    try {
      const sent = await client.send({
        content: "from **discord.js**",
        embeds: [new EmbedBuilder().setTitle("Nightly").setDescription("all green").addFields({ name: "Tests", value: "969", inline: true })],
        files: [new AttachmentBuilder(LOG, { name: "nightly.log" })],
      });
      expect(sent).toMatchObject({ id: expect.stringMatching(/^\$/), content: "from **discord.js**", webhook_id: hookId, embeds: [{ title: "Nightly" }], attachments: [{ filename: "nightly.log" }] });
      const text = await event(sent.id);
      expect(text.content.body).toBe("from **discord.js**\n\n> Nightly\n> all green\n> Tests: 969");
      await admin.waitForEvent(roomId, (e) => e.content.msgtype === "m.file" && e.content.body === "nightly.log");

      expect(await client.fetchMessage(sent.id)).toMatchObject({ id: sent.id, content: "from **discord.js**" });
      expect(await client.editMessage(sent.id, { content: "edited by discord.js" })).toMatchObject({ id: sent.id, content: "edited by discord.js", embeds: [{ title: "Nightly" }] });
      await admin.waitForEvent(roomId, (e) => (e.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id === sent.id);
      await client.deleteMessage(sent.id);
      const redacted = await admin.request<MatrixEvent>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(sent.id)}`);
      expect(redacted.content).toEqual({});
      await expect(client.fetchMessage(sent.id)).rejects.toMatchObject({ code: 10008, status: 404 });

      // Get and Modify Webhook with Token, through discord.js's REST client.
      expect(await client.rest.get(`/webhooks/${hookId}/${token}`, { auth: false })).toEqual({ id: hookId, type: 1, name: "Other", avatar: null, channel_id: roomId, guild_id: null, application_id: null });
      expect(await client.rest.patch(`/webhooks/${hookId}/${token}`, { auth: false, body: { name: "Nightly CI" } })).toMatchObject({ id: hookId, name: "Nightly CI" });
      expect(await admin.getStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "Nightly CI")).toMatchObject({ name: "Nightly CI" });
      // Another hook's id with this token names no webhook.
      expect(await call(`${bridge.url}/api/v10/webhooks/ih_nope/${token}`, { json: { content: "x" } })).toMatchObject({ status: 404, text: "{}" });
    } finally {
      client.destroy();
    }
  });
});
