import { describe, expect, it } from "vitest";
import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import { DEFAULT_INBOUND_PERMISSIONS, type InboundPermissions } from "../../connections/inbound-permissions.js";
import type { RoomEvent } from "../../matrix/port.js";
import { createLogger } from "../../observability/logger.js";
import { PER_MESSAGE_PROFILE_KEY } from "../content.js";
import { editContent, PostedMessages } from "../posted-messages.js";
import type { PostSubmitter, Submitted } from "../submitter.js";
import { DiscordEndpoint } from "./endpoint.js";
import { DISCORD_MESSAGE_KEY } from "./message-object.js";

// The endpoint over an in-memory room: PostedMessages reads what the submitter "posted" (by the hook's ghost).
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const ghost = (hookId: string) => `@webhook_${hookId}:x`;

function setup(opts: { permissions?: Partial<InboundPermissions>; queued?: boolean; allowIdentityOverride?: boolean } = {}) {
  const events = new Map<string, RoomEvent>();
  const uploads: Array<{ bytes: Buffer; type: string; name: string }> = [];
  const redacted: string[] = [];
  let n = 0;
  const store = (hook: ActiveInboundHook, content: Record<string, unknown>, sender = ghost(hook.id)) => {
    const id = `$e${++n}`;
    events.set(id, { event_id: id, room_id: hook.roomId, sender, type: "m.room.message", content, origin_server_ts: 1_700_000_000_000 + n });
    return id;
  };
  const submissions: Array<{ contents: readonly Record<string, unknown>[]; deliveryKey: string | null }> = [];
  const submitter: PostSubmitter = {
    submit: async (hook, contents, { deliveryKey }): Promise<Submitted> => {
      submissions.push({ contents, deliveryKey });
      if (opts.queued) return { kind: "queued", id: "q_1" };
      return { kind: "posted", eventIds: contents.map((c) => store(hook, c)) };
    },
  };
  const messages = new PostedMessages({
    ghosts: {
      fetchEvent: async (_room, id) => events.get(id) ?? null,
      // An edit: the homeserver bundles the newest one with the original.
      sendAsGhost: async (_user, room, content) => {
        const relates = content["m.relates_to"] as { event_id: string };
        const original = events.get(relates.event_id)!;
        original.unsigned = { "m.relations": { "m.replace": { content, origin_server_ts: 1_800_000_000_000 } } };
        return `$edit${++n}`;
      },
      redactAsGhost: async (_user, _room, id) => {
        redacted.push(id);
        events.get(id)!.content = {};
      },
    },
    ghostUserId: ghost,
  });
  const endpoint = new DiscordEndpoint({
    submitter,
    messages,
    uploadMedia: async (_roomId, bytes, type, name) => (uploads.push({ bytes, type, name }), { mxc: `mxc://x/m${uploads.length}`, encryptedFile: null }),
    overrideAvatar: async () => "mxc://x/avatar",
    allowIdentityOverride: opts.allowIdentityOverride ?? true,
    log: createLogger("silent"),
  });
  const hook: ActiveInboundHook = { id: "ih_a", roomId: "!r:x", name: "CI", avatar: null, msgtype: "m.notice", expiresAt: null, permissions: { ...DEFAULT_INBOUND_PERMISSIONS, ...opts.permissions } };
  return { endpoint, hook, events, uploads, redacted, submissions, store };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const JSON_HEADERS = { "content-type": "application/json" };

async function multipart(payload: unknown, files: Array<[string, Buffer, string, string]>) {
  const form = new FormData();
  form.set("payload_json", JSON.stringify(payload));
  for (const [field, bytes, name, type] of files) form.set(field, new Blob([bytes], { type }), name);
  const res = new Response(form);
  return { body: Buffer.from(await res.arrayBuffer()), headers: { "content-type": res.headers.get("content-type")! } };
}

describe("Discord execute webhook", () => {
  it("posts content and embeds as one message, answering 204, or the message object with ?wait=true", async () => {
    const { endpoint, hook, submissions } = setup();
    expect(await endpoint.execute(hook, false, JSON_HEADERS, json({ content: "hi **there**" }))).toEqual({ status: 204 });
    expect(submissions[0]!.contents).toEqual([expect.objectContaining({ msgtype: "m.notice", body: "hi **there**", formatted_body: "hi <strong>there</strong>", "m.mentions": {} })]);
    const answer = await endpoint.execute(hook, true, { ...JSON_HEADERS, "idempotency-key": "k1" }, json({ content: "x", embeds: [{ title: "T", color: 1 }] }));
    expect(submissions[1]!.deliveryKey).toBe("k1");
    expect(answer).toEqual({
      status: 200,
      body: {
        id: "$e2", type: 0, content: "x", channel_id: "!r:x", author: { id: "ih_a", username: "CI", avatar: null, discriminator: "0000", bot: true },
        attachments: [], embeds: [{ type: "rich", title: "T", color: 1, fields: [] }], mentions: [], mention_roles: [], mention_everyone: false,
        pinned: false, tts: false, timestamp: new Date(1_700_000_000_002).toISOString(), edited_timestamp: null, flags: 0, components: [], webhook_id: "ih_a",
      },
    });
  });

  it("posts files after the text, uploaded, as m.image / m.file with their info, all in one submission", async () => {
    const { endpoint, hook, uploads, submissions } = setup();
    const { body, headers } = await multipart({ content: "report", attachments: [{ id: 1, description: "the log" }] }, [["files[0]", PNG, "chart.png", "image/png"], ["files[1]", Buffer.from("line 1\n"), "build.log", "text/plain"]]);
    const answer = await endpoint.execute(hook, true, headers, body);
    expect(uploads.map((u) => [u.name, u.type, u.bytes.length])).toEqual([["chart.png", "image/png", PNG.length], ["build.log", "text/plain", 7]]);
    expect(submissions[0]!.contents).toEqual([
      expect.objectContaining({ msgtype: "m.notice", body: "report" }),
      { msgtype: "m.image", body: "chart.png", filename: "chart.png", url: "mxc://x/m1", info: { mimetype: "image/png", size: PNG.length, w: 1, h: 1 } },
      { msgtype: "m.file", body: "the log", filename: "build.log", url: "mxc://x/m2", info: { mimetype: "text/plain", size: 7 } },
    ]);
    expect((answer.body!.attachments as unknown[])).toEqual([
      { id: "0", filename: "chart.png", size: PNG.length, url: "mxc://x/m1", proxy_url: "mxc://x/m1", content_type: "image/png", width: 1, height: 1 },
      { id: "1", filename: "build.log", description: "the log", size: 7, url: "mxc://x/m2", proxy_url: "mxc://x/m2", content_type: "text/plain" },
    ]);
    // Files alone: the first file is the message.
    const only = await multipart({}, [["files[0]", Buffer.from("x"), "x.bin", "application/octet-stream"]]);
    const alone = await endpoint.execute(hook, true, only.headers, only.body);
    expect(alone.body).toMatchObject({ id: "$e4", content: "", attachments: [{ filename: "x.bin" }] });
  });

  it("masquerades with the permission, and refuses it, embeds and files without theirs (Discord's 403)", async () => {
    const allowed = setup();
    await allowed.endpoint.execute(allowed.hook, false, JSON_HEADERS, json({ content: "hi", username: "Grafana", avatar_url: "https://g.example/a.png" }));
    expect(allowed.submissions[0]!.contents[0]).toMatchObject({ body: "Grafana: hi", [PER_MESSAGE_PROFILE_KEY]: { displayname: "Grafana", avatar_url: "mxc://x/avatar", has_fallback: true } });
    const forbidden = { status: 403, body: { message: "Missing Permissions", code: 50013 } };
    expect(await setup({ permissions: { masquerade: false } }).endpoint.execute(allowed.hook, false, JSON_HEADERS, json({ content: "x" }))).toEqual({ status: 204 });
    const noMasquerade = setup({ permissions: { masquerade: false } });
    expect(await noMasquerade.endpoint.execute(noMasquerade.hook, false, JSON_HEADERS, json({ content: "x", username: "u" }))).toEqual(forbidden);
    const configOff = setup({ allowIdentityOverride: false });
    expect(await configOff.endpoint.execute(configOff.hook, false, JSON_HEADERS, json({ content: "x", avatar_url: "https://a.example/a.png" }))).toEqual(forbidden);
    const noEmbeds = setup({ permissions: { send_embeds: false } });
    expect(await noEmbeds.endpoint.execute(noEmbeds.hook, false, JSON_HEADERS, json({ embeds: [{ title: "t" }] }))).toEqual(forbidden);
    const noFiles = setup({ permissions: { upload_files: false } });
    const file = await multipart({ content: "x" }, [["files[0]", Buffer.from("x"), "x", "text/plain"]]);
    expect(await noFiles.endpoint.execute(noFiles.hook, false, file.headers, file.body)).toEqual(forbidden);
    expect(noFiles.uploads).toEqual([]);
    const noMessages = setup({ permissions: { send_messages: false } });
    expect(await noMessages.endpoint.execute(noMessages.hook, false, JSON_HEADERS, json({ content: "x" }))).toEqual(forbidden);
  });

  it("answers Discord's 400s: empty message, invalid form body, invalid JSON; queued posts 202", async () => {
    const { endpoint, hook, submissions } = setup();
    for (const body of [{}, { content: "   " }, { embeds: [{}] }]) {
      expect(await endpoint.execute(hook, false, JSON_HEADERS, json(body))).toEqual({ status: 400, body: { message: "Cannot send an empty message", code: 50006 } });
    }
    expect(await endpoint.execute(hook, false, JSON_HEADERS, json({ content: "x".repeat(2001) }))).toMatchObject({ status: 400, body: { code: 50035, errors: { content: {} } } });
    expect(await endpoint.execute(hook, false, JSON_HEADERS, Buffer.from("{bad"))).toMatchObject({ status: 400, body: { code: 50109 } });
    const badPart = await multipart({}, []);
    expect(await endpoint.execute(hook, false, badPart.headers, Buffer.from(badPart.body.toString().replace('{}', '{bad')))).toMatchObject({ status: 400, body: { code: 50109 } });
    const eleven = await multipart({ content: "x" }, Array.from({ length: 11 }, (_, i) => [`files[${i}]`, Buffer.from("x"), `f${i}`, "text/plain"] as [string, Buffer, string, string]));
    expect(await endpoint.execute(hook, false, eleven.headers, eleven.body)).toMatchObject({ status: 400, body: { code: 50035, errors: { files: { _errors: [{ message: "Must be 10 or fewer in length." }] } } } });
    expect(submissions).toEqual([]);
    const queued = setup({ queued: true });
    expect(await queued.endpoint.execute(queued.hook, true, JSON_HEADERS, json({ content: "x" }))).toEqual({ status: 202, body: { id: "q_1", queued: true } });
  });

  it("lets @everyone ping the room only when allowed_mentions allows it, and SUPPRESS_NOTIFICATIONS posts a notice", async () => {
    const { endpoint, submissions, hook } = setup();
    const textHook = { ...hook, msgtype: "m.text" as const };
    await endpoint.execute(textHook, false, JSON_HEADERS, json({ content: "@everyone deploy" }));
    await endpoint.execute(textHook, false, JSON_HEADERS, json({ content: "@everyone deploy", allowed_mentions: { parse: [] } }));
    await endpoint.execute(textHook, false, JSON_HEADERS, json({ content: "quiet", flags: 4096 }));
    expect(submissions.map((s) => [s.contents[0]!.msgtype, s.contents[0]!["m.mentions"]])).toEqual([["m.text", { room: true }], ["m.text", {}], ["m.notice", {}]]);
  });
});

describe("Discord message routes", () => {
  it("GET answers the message, PATCH edits it (GET then shows the edit), DELETE redacts it", async () => {
    const { endpoint, hook, events, redacted } = setup();
    const posted = await endpoint.execute(hook, true, JSON_HEADERS, json({ content: "v1", username: "Bot", embeds: [{ title: "keep" }] }));
    const id = posted.body!.id as string;
    expect((await endpoint.get(hook, id)).body).toMatchObject({ id, content: "v1", embeds: [{ title: "keep" }], edited_timestamp: null, author: { username: "Bot" } });
    const edited = await endpoint.edit(hook, id, JSON_HEADERS, json({ content: "v2 **new**" }));
    expect(edited).toMatchObject({ status: 200, body: { id, content: "v2 **new**", embeds: [{ title: "keep" }], edited_timestamp: expect.any(String) } });
    const edit = events.get(id)!.unsigned!["m.relations"] as { "m.replace": { content: Record<string, unknown> } };
    expect(edit["m.replace"].content).toEqual(editContent(id, edit["m.replace"].content["m.new_content"] as Record<string, unknown>));
    expect(edit["m.replace"].content["m.new_content"]).toMatchObject({ body: "Bot: v2 **new**\n\n> keep", [DISCORD_MESSAGE_KEY]: { content: "v2 **new**" } });
    expect((await endpoint.get(hook, id)).body).toMatchObject({ content: "v2 **new**", embeds: [{ title: "keep" }], edited_timestamp: new Date(1_800_000_000_000).toISOString() });
    expect(await endpoint.edit(hook, id, JSON_HEADERS, json({ embeds: null }))).toMatchObject({ status: 200, body: { content: "v2 **new**", embeds: [] } });
    expect(await endpoint.edit(hook, id, JSON_HEADERS, json({ content: null, embeds: [] }))).toEqual({ status: 400, body: { message: "Cannot send an empty message", code: 50006 } });
    expect(await endpoint.remove(hook, id)).toEqual({ status: 204 });
    expect(redacted).toEqual([id]);
    expect(await endpoint.get(hook, id)).toEqual({ status: 404, body: { message: "Unknown Message", code: 10008 } });
  });

  it("answers Unknown Message for another hook's message, anyone else's, and ids of no event", async () => {
    const { endpoint, hook, store } = setup();
    const other = store({ ...hook, id: "ih_b" }, { msgtype: "m.notice", body: "not yours" });
    const human = store(hook, { msgtype: "m.text", body: "a person" }, "@alice:x");
    const unknown = { status: 404, body: { message: "Unknown Message", code: 10008 } };
    for (const id of [other, human, "$nope", "../x", ""]) {
      expect(await endpoint.get(hook, id), id).toEqual(unknown);
      expect(await endpoint.edit(hook, id, JSON_HEADERS, json({ content: "x" })), id).toEqual(unknown);
      expect(await endpoint.remove(hook, id), id).toEqual(unknown);
    }
  });

  it("refuses to edit a file message's text, to add files, and embeds without the permission", async () => {
    const { endpoint, hook } = setup({ permissions: { send_embeds: false } });
    const only = await multipart({}, [["files[0]", PNG, "a.png", "image/png"]]);
    const id = (await endpoint.execute(hook, true, only.headers, only.body)).body!.id as string;
    expect(await endpoint.edit(hook, id, JSON_HEADERS, json({ content: "x" }))).toMatchObject({ status: 400, body: { code: 50035, errors: { content: {} } } });
    expect(await endpoint.edit(hook, id, only.headers, only.body)).toMatchObject({ status: 400, body: { code: 50035, errors: { files: {} } } });
    const text = (await endpoint.execute(hook, true, JSON_HEADERS, json({ content: "t" }))).body!.id as string;
    expect(await endpoint.edit(hook, text, JSON_HEADERS, json({ embeds: [{ title: "e" }] }))).toEqual({ status: 403, body: { message: "Missing Permissions", code: 50013 } });
  });
});
