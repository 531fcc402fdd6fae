import { DEFAULT_INBOUND_PERMISSIONS } from "../connections/inbound-permissions.js";
import type { Server } from "node:http";
import { MatrixError } from "@vector-im/matrix-bot-sdk";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import { createHttpApp, listen } from "../http/server.js";
import { createLogger } from "../observability/logger.js";
import { openDatabase } from "../store/database.js";
import { InboundDeliveriesTable } from "../store/inbound-deliveries-table.js";
import { InboundPostsTable } from "../store/inbound-posts-table.js";
import { newInboundSecret } from "../store/inbound-hook-secret.js";
import { MAX_CONTENT_BYTES } from "./content.js";
import { githubSignature } from "./github/signature.js";
import { TokenBuckets } from "./rate-limit.js";
import { postStatusBody } from "./queue/post-status.js";
import { DirectSubmitter } from "./submitter.js";
import { DiscordEndpoint } from "./discord/endpoint.js";
import { PostedMessages } from "./posted-messages.js";
import type { RoomEvent } from "../matrix/port.js";
import { InboundReceiver } from "./receive.js";
import { inboundRouter } from "./routes.js";
import { TransformationFunctions } from "../transform/transformation-functions.js";
import { InboundHookRegistry } from "../connections/inbound-hook-registry.js";
import { AvatarError } from "./avatar-import.js";
import { HookManagement } from "./manage/hook-management.js";
import { MessageEdits } from "./message-edits.js";

// The inbound routes over real HTTP on 127.0.0.1, with a recording stand-in for the homeserver
// that refuses what Synapse refuses, answering as Synapse does (through the bot SDK's MatrixError).
const MAX_BODY = 64 * 1024;
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), "__proto__"];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const refusals: string[] = [];

/** Synapse's rules for event content: canonical JSON (integers within ±(2^53−1) only), text it can write as UTF-8, 64 KiB. */
function synapseRefusal(content: unknown): MatrixError | null {
  const stack: unknown[] = [content];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "number" && !Number.isSafeInteger(node)) return new MatrixError({ errcode: "M_BAD_JSON", error: "Bad JSON value: float" } as never, 400, {});
    if (typeof node === "string" && LONE_SURROGATE.test(node)) return new MatrixError({ errcode: "M_UNKNOWN", error: "Internal server error" } as never, 500, {});
    if (typeof node === "object" && node !== null) {
      for (const key of Object.keys(node)) if (LONE_SURROGATE.test(key)) return new MatrixError({ errcode: "M_UNKNOWN", error: "Internal server error" } as never, 500, {});
      stack.push(...(Array.isArray(node) ? node : Object.values(node)));
    }
  }
  if (Buffer.byteLength(JSON.stringify(content)) > 65_536) return new MatrixError({ errcode: "M_TOO_LARGE", error: "event too large" } as never, 413, {});
  return null;
}
// 403: what the hook's permissions forbid; 204 and 409: managing the hook and its messages by URL.
const DOCUMENTED = new Set([200, 204, 400, 401, 403, 404, 409, 413, 415, 429]);
// The Discord routes answer as Discord does: 204 without ?wait=true, 403 for what the hook may not do.
const DISCORD_DOCUMENTED = new Set([200, 204, 400, 403, 404, 413, 415, 429]);
const hook = (id: string): ActiveInboundHook => ({ id, roomId: "!r:x", name: id, avatar: null, msgtype: "m.notice", expiresAt: null, permissions: DEFAULT_INBOUND_PERMISSIONS });
// A function that follows the payload's shape: HTML through, bad msgtypes (a result error), identities, empty, throws.
const FUZZ_FUNCTION = `if (data === null || typeof data !== "object") throw new Error("not an object");
if (typeof data.html === "string") { result = {version: "v2", plain: String(data.text ?? ""), html: data.html}; return; }
if (data.respond !== undefined) { result = {version: "v2", plain: String(data.text), webhookResponse: data.respond}; return; }
if (data.msgtype !== undefined) { result = {version: "v2", plain: "typed", msgtype: data.msgtype}; return; }
if (data.username !== undefined) { result = {version: "v2", plain: "named", username: data.username, avatar_url: data.avatar_url}; return; }
if (Array.isArray(data.blocks)) { result = {version: "v2", empty: true}; return; }
result = typeof data.text === "string" ? data.text : {version: "v2", plain: JSON.stringify(data).slice(0, 500), mentions: data.mentions};`;
const secrets = { open: newInboundSecret(), signed: newInboundSecret(), limited: newInboundSecret(), unknown: newInboundSecret(), strict: newInboundSecret(), transformed: newInboundSecret() };
const hooks = new Map([[secrets.open, hook("open")], [secrets.signed, hook("signed")], [secrets.limited, hook("limited")],
  [secrets.strict, { ...hook("strict"), permissions: { send_messages: true, send_embeds: false, masquerade: false, upload_files: false } }],
  [secrets.transformed, { ...hook("transformed"), transformationFunction: FUZZ_FUNCTION }]]);
const transformNotices: string[] = [];
// What management by URL wrote as room state, and told the room.
const stateWrites: Array<[string, Record<string, unknown>]> = [];
const roomNotices: string[] = [];
const posted: Array<Record<string, unknown>> = [];
// Queued posts of the hooks "open" and "signed", for GET /webhook/{id}/posts/{post}.
const posts = new InboundPostsTable(openDatabase(":memory:"));
const openPost = (await posts.store({ hookId: "open", roomId: "!r:x", deliveryKey: null, parts: [{ msgtype: "m.notice", body: "queued" }] }, 1_700_000_000_000)).post;
const signedPost = (await posts.store({ hookId: "signed", roomId: "!r:x", deliveryKey: null, parts: [{ msgtype: "m.notice", body: "queued" }] })).post;
let server: Server;
let base: string;
const agent = new Agent({ connections: 32 });

beforeAll(async () => {
  const log = createLogger("silent");
  const limiter = new TokenBuckets(1_000_000, 1_000_000);
  const strict = new TokenBuckets(6, 3);
  const receiver = new InboundReceiver({
    submitter: new DirectSubmitter({
      post: async (_hook, content) => {
        const refused = synapseRefusal(content);
        if (refused) {
          refusals.push(`${refused.errcode}: ${JSON.stringify(content).slice(0, 300)}`);
          throw refused;
        }
        return `$event${posted.push(content)}`;
      },
      deliveries: new InboundDeliveriesTable(openDatabase(":memory:")),
      log,
    }),
    githubSecret: async (id) => (id === "signed" ? "gh-secret" : null),
    overrideAvatar: async () => null,
    allowIdentityOverride: true,
    rawPayloadMaxBytes: 16384,
    transforms: new TransformationFunctions({ enabled: true, limits: { timeoutMs: 100, memoryBytes: 8 * 1024 * 1024 }, notify: (_roomId, text) => void transformNotices.push(text), log }),
    log,
  });
  // The Discord routes over the same stand-in: posted events are kept so they can be fetched, edited and redacted.
  const events = new Map<string, RoomEvent>();
  const discordPost = async (h: ActiveInboundHook, content: Record<string, unknown>) => {
    const refused = synapseRefusal(content);
    if (refused) {
      refusals.push(`${refused.errcode}: ${JSON.stringify(content).slice(0, 300)}`);
      throw refused;
    }
    const id = `$event${posted.push(content)}`;
    events.set(id, { event_id: id, room_id: h.roomId, sender: `@webhook_${h.id}:x`, type: "m.room.message", content, origin_server_ts: Date.now() });
    return id;
  };
  const messages = new PostedMessages({
    ghosts: {
      fetchEvent: async (_room, id) => events.get(id) ?? null,
      sendAsGhost: async (_user, room, content) => discordPost({ ...hook("edit"), roomId: room }, content),
      redactAsGhost: async (_user, _room, id) => void (events.get(id)!.content = {}),
    },
    ghostUserId: (id) => `@webhook_${id}:x`,
  });
  const discord = new DiscordEndpoint({
    submitter: new DirectSubmitter({ post: discordPost, deliveries: new InboundDeliveriesTable(openDatabase(":memory:")), log }),
    messages,
    uploadMedia: async (_roomId, bytes) => ({ mxc: `mxc://x/${bytes.length}`, encryptedFile: null }),
    overrideAvatar: async () => null,
    allowIdentityOverride: true,
    log,
  });
  // Management over a stand-in for the room's state: the name "taken" is another hook's.
  const managed = new InboundHookRegistry();
  for (const h of hooks.values()) managed.set(h);
  const management = new HookManagement({
    hooks: {
      writeAsBot: async (_room, name, content) => (stateWrites.push([name, content]), { allowed: true, has: 100, needs: 50 }),
      contentWith: async (h, changes) => Object.fromEntries(Object.entries({ name: h.name, ...changes }).filter(([, v]) => v !== undefined)),
      renameAsBot: async (_h, name, content) => (name === "taken" ? null : (stateWrites.push([name, content]), { allowed: true, has: 100, needs: 50 })),
      registry: managed,
      ghostUserId: (id) => `@webhook_${id}:x`,
      allowIdentityOverride: true,
    },
    matrix: { setState: async () => "$state", sendNotice: async (_room, text) => (roomNotices.push(text), "$notice") },
    avatars: {
      import: async () => Promise.reject(new AvatarError("the image could not be fetched: no network in this test")),
      importDataUri: async (uri) => (uri.startsWith("data:image/png;base64,iVBOR") ? "mxc://x/avatar" : Promise.reject(new AvatarError("the file is not a PNG, JPEG, GIF or WebP image"))),
    },
    log,
  });
  const router = inboundRouter({
    discord,
    management,
    messageEdits: new MessageEdits({ receiver, messages }),
    resolve: async (secret) => hooks.get(secret) ?? null,
    receiver,
    postStatus: (h, postId) => postStatusBody(posts, h.id, postId),
    limiter: { take: (key: string, now?: number) => (key === "limited" ? strict : limiter).take(key, now) } as TokenBuckets,
    maxBodyBytes: MAX_BODY,
    log,
  });
  server = await listen(createHttpApp({ routers: [router], metrics: null, log, health: async () => ({ ok: true }) }), 0, "127.0.0.1");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

async function send(path: string, opts: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}) {
  const res = await request(`${base}${path}`, { method: (opts.method ?? "POST") as "POST", body: opts.body, headers: opts.headers, dispatcher: agent });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, json: json as Record<string, unknown> | undefined, text };
}

const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { "content-type": "application/json" } });

describe("documented answers", () => {
  it("200 with the event id once posted", async () => {
    const res = await send(`/webhook/${secrets.open}`, json({ text: "hello" }));
    expect(res).toMatchObject({ status: 200, json: { ok: true, event_id: `$event${posted.length}` } });
    expect(posted.at(-1)).toMatchObject({ body: "hello", msgtype: "m.notice" });
    expect((await send(`/webhook/${secrets.open}`, { method: "PUT", body: "plain", headers: { "content-type": "text/plain" } })).status).toBe(200);
  });

  it("answers a redelivery (same Idempotency-Key or X-GitHub-Delivery) with the first event id, posting once", async () => {
    const before = posted.length;
    const first = await send(`/webhook/${secrets.open}`, { ...json({ text: "once" }), headers: { "content-type": "application/json", "idempotency-key": "k-1" } });
    const again = await Promise.all([1, 2].map(() => send(`/webhook/${secrets.open}`, { ...json({ text: "once" }), headers: { "content-type": "application/json", "idempotency-key": "k-1" } })));
    expect(again.map((r) => r.json?.event_id)).toEqual([first.json?.event_id, first.json?.event_id]);
    const gh = { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" };
    const a = await send(`/webhook/${secrets.open}/github`, { body: JSON.stringify({ zen: "Keep it logically awesome." }), headers: gh });
    const b = await send(`/webhook/${secrets.open}/github`, { body: JSON.stringify({ zen: "Keep it logically awesome." }), headers: gh });
    expect(b.json?.event_id).toBe(a.json?.event_id);
    expect(posted.length - before).toBe(2);
  });

  it("a hook's transformation function makes the message; empty posts nothing; a failure posts the default rendering, told once", async () => {
    const shaped = await send(`/webhook/${secrets.transformed}`, json({ text: "from the function" }));
    expect(shaped).toMatchObject({ status: 200, json: { ok: true, event_id: `$event${posted.length}` } });
    expect(posted.at(-1)).toMatchObject({ body: "Received webhook: from the function", msgtype: "m.notice" });
    const count = posted.length;
    expect(await send(`/webhook/${secrets.transformed}`, json({ blocks: [] }))).toMatchObject({ status: 200, json: { ok: true, posted: false } });
    expect(posted.length).toBe(count);
    const noticesBefore = transformNotices.length;
    for (let i = 0; i < 2; i++) {
      // "m.image" is no msgtype this bridge posts: a result error, so the payload is posted as without a function.
      expect((await send(`/webhook/${secrets.transformed}`, json({ text: "default", msgtype: "m.image" }))).status).toBe(400);
      expect((await send(`/webhook/${secrets.transformed}`, json({ text: "default", msgtype: "m.text" }))).status).toBe(200);
    }
    expect(posted.at(-1)).toMatchObject({ body: "typed", msgtype: "m.text" });
    const thrown = await send(`/webhook/${secrets.transformed}`, { body: "just text", headers: { "content-type": "text/plain" } });
    expect(thrown.status).toBe(200);
    expect(posted.at(-1)).toMatchObject({ body: "just text" });
    expect(transformNotices.slice(noticesBefore).length).toBeLessThanOrEqual(1);
    expect(transformNotices.join("\n")).toMatch(/inbound hook "transformed" failed/);
  });

  it("404 {} for unknown ids, routes and methods", async () => {
    for (const path of [`/webhook/${secrets.unknown}`, "/webhook/short", `/webhook/${secrets.open}/other`, "/webhook", "/webhook/%E0%A4%A", `/webhook/${secrets.open}/slack/extra`]) {
      const res = await send(path, json({ text: "x" }));
      expect([path, res.status, res.text]).toEqual([path, 404, "{}"]);
    }
    expect((await send(`/webhook/${secrets.unknown}`, { method: "GET" })).text).toBe("{}");
    expect((await send(`/webhook/${secrets.unknown}/messages/%24event1`, { method: "DELETE" })).text).toBe("{}");
  });

  it("400 with a reason, 413 over the cap, 415 for unread types and encodings", async () => {
    expect(await send(`/webhook/${secrets.open}`, { body: "{bad", headers: { "content-type": "application/json" } })).toMatchObject({ status: 400, json: { ok: false, error: expect.stringMatching(/not valid JSON/) } });
    expect((await send(`/webhook/${secrets.open}`, { body: "x".repeat(MAX_BODY + 1), headers: { "content-type": "text/plain" } })).status).toBe(413);
    expect((await send(`/webhook/${secrets.open}`, { body: "x", headers: { "content-type": "application/pdf" } })).status).toBe(415);
    expect((await send(`/webhook/${secrets.open}`, { body: "x", headers: { "content-type": "text/plain", "content-encoding": "gzip" } })).status).toBe(415);
    expect((await send(`/webhook/${secrets.open}/github`, json({ zen: "x" }))).json).toEqual({ ok: false, error: "the X-GitHub-Event header is missing or malformed" });
  });

  it("names of Object.prototype's properties as route variants are 404 {}, as X-GitHub-Event a summary or 400", async () => {
    for (const name of PROTOTYPE_NAMES) {
      expect((await send(`/webhook/${secrets.open}/${name}`, json({ text: "x" }))).text, name).toBe("{}");
      const res = await send(`/webhook/${secrets.open}/github`, { body: JSON.stringify({ text: "RAW", html: "<b>RAW</b>", sender: { login: "o" } }), headers: { "content-type": "application/json", "x-github-event": name } });
      if (/^[a-z_]+$/.test(name)) {
        expect(res.status, `${name}: ${res.text}`).toBe(200);
        expect(posted.at(-1)?.body).toBe(`o triggered \`${name}\``);
      } else expect(res.status, name).toBe(400);
    }
  });

  it("refusals of the homeserver come back as 400 or 413, its failures as 502", async () => {
    const answers: unknown[] = [
      new MatrixError({ errcode: "M_BAD_JSON", error: "Bad JSON value: float" } as never, 400, {}),
      new MatrixError({ errcode: "M_TOO_LARGE", error: "event too large" } as never, 413, {}),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8008"), { code: "ECONNREFUSED" }),
    ];
    const failing = new InboundReceiver({
      submitter: new DirectSubmitter({
        post: async () => {
          throw answers.shift();
        },
        deliveries: new InboundDeliveriesTable(openDatabase(":memory:")),
        log: createLogger("silent"),
      }),
      githubSecret: async () => null,
      overrideAvatar: async () => null,
      allowIdentityOverride: false,
      rawPayloadMaxBytes: 0,
      log: createLogger("silent"),
    });
    const receive = () => failing.receive(hook("x"), "generic", { "content-type": "text/plain" }, Buffer.from("hi"));
    await expect(receive()).rejects.toMatchObject({ status: 400, reason: "the homeserver refused the message (M_BAD_JSON: Bad JSON value: float)" });
    await expect(receive()).rejects.toMatchObject({ status: 413, reason: "the homeserver refused the message as too large (M_TOO_LARGE: event too large)" });
    await expect(receive()).rejects.toMatchObject({ status: 502, reason: "the homeserver could not be reached; try again later" });
  });

  it("401 for a missing or wrong GitHub signature when the hook has a secret", async () => {
    const body = JSON.stringify({ zen: "Design for failure." });
    const headers = { "content-type": "application/json", "x-github-event": "ping" };
    expect((await send(`/webhook/${secrets.signed}/github`, { body, headers })).status).toBe(401);
    expect((await send(`/webhook/${secrets.signed}/github`, { body, headers: { ...headers, "x-hub-signature-256": githubSignature("wrong", body) } })).status).toBe(401);
    expect((await send(`/webhook/${secrets.signed}/github`, { body, headers: { ...headers, "x-hub-signature-256": githubSignature("gh-secret", body) } })).status).toBe(200);
  });

  it("429 with Retry-After over the rate limit, malformed requests (400, 413) counting too", async () => {
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const body = i === 1 ? "x".repeat(MAX_BODY + 1) : "{bad";
      const res = await send(`/webhook/${secrets.limited}`, { body, headers: { "content-type": "application/json" } });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers["retry-after"];
    }
    expect(statuses).toEqual([400, 413, 400, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});

describe("Discord routes over HTTP", () => {
  it("204 without ?wait=true, the message object with it; GET, PATCH and DELETE by its id; Discord's errors", async () => {
    const base = `/webhook/${secrets.open}/discord`;
    const quiet = await send(base, json({ content: "hi", embeds: [{ title: "T" }] }));
    expect([quiet.status, quiet.text]).toEqual([204, ""]);
    const waited = await send(`${base}?wait=true`, json({ content: "v1" }));
    expect(waited).toMatchObject({ status: 200, json: { id: expect.stringMatching(/^\$event/), type: 0, content: "v1", channel_id: "!r:x", webhook_id: "open" } });
    const at = `${base}/messages/${encodeURIComponent(String(waited.json!.id))}`;
    expect(await send(at, { method: "GET" })).toMatchObject({ status: 200, json: { content: "v1" } });
    expect(await send(at, { method: "PATCH", ...json({ content: "v2" }) })).toMatchObject({ status: 200, json: { content: "v2" } });
    expect(posted.at(-1)).toMatchObject({ "m.relates_to": { rel_type: "m.replace", event_id: waited.json!.id }, "m.new_content": { body: "v2" } });
    expect((await send(at, { method: "DELETE" })).status).toBe(204);
    expect(await send(at, { method: "GET" })).toMatchObject({ status: 404, json: { message: "Unknown Message", code: 10008 } });
    expect(await send(`${base}/messages/%24nope`, { method: "PATCH", ...json({ content: "x" }) })).toMatchObject({ status: 404, json: { code: 10008 } });
    expect(await send(`/webhook/${secrets.unknown}/discord`, json({ content: "x" }))).toMatchObject({ status: 404, text: "{}" });
    expect(await send(`/webhook/${secrets.strict}/discord`, json({ content: "x", username: "y" }))).toMatchObject({ status: 403, json: { message: "Missing Permissions", code: 50013 } });
    expect(await send(base, json({}))).toMatchObject({ status: 400, json: { message: "Cannot send an empty message", code: 50006 } });
    expect(await send(base, json({ embeds: Array.from({ length: 11 }, () => ({ title: "t" })) }))).toMatchObject({ status: 400, json: { message: "Invalid Form Body", code: 50035, errors: { embeds: {} } } });
    expect(await send(base, { body: "x".repeat(MAX_BODY + 1), headers: { "content-type": "application/json" } })).toMatchObject({ status: 413, json: { code: 40005 } });
  });
});

describe("a transformation function's webhookResponse", () => {
  it("answers the sender with its body, status and type, sandboxed; the message is posted", async () => {
    const before = posted.length;
    const res = await send(`/webhook/${secrets.transformed}`, json({ text: "hi", respond: { body: "<b>thanks</b>", contentType: "text/html", statusCode: 201 } }));
    expect([res.status, res.text, res.headers["content-type"], res.headers["content-security-policy"]]).toEqual([201, "<b>thanks</b>", "text/html; charset=utf-8", "sandbox; default-src 'none'"]);
    expect(posted.length).toBe(before + 1);
    const plain = await send(`/webhook/${secrets.transformed}`, json({ text: "hi", respond: { body: "ok" } }));
    expect([plain.status, plain.text, plain.headers["content-type"]]).toEqual([200, "ok", "text/plain; charset=utf-8"]);
  });
});

describe("the hook managed with its URL, and its messages", () => {
  it("GET shows the hook, PATCH changes it (or says why not), DELETE removes it; each written as state and told", async () => {
    expect(await send(`/webhook/${secrets.strict}`, { method: "GET" })).toMatchObject({
      status: 200, json: { ok: true, id: "strict", name: "strict", room_id: "!r:x", user_id: "@webhook_strict:x", permissions: { send_messages: true, send_embeds: false, masquerade: false, upload_files: false } },
    });
    const writes = stateWrites.length;
    expect(await send(`/webhook/${secrets.open}`, { method: "PATCH", ...json({ avatar: "data:image/png;base64,iVBORw0K", permissions: { send_embeds: false } }) })).toMatchObject({ status: 200 });
    expect(stateWrites.slice(writes)).toEqual([["open", { name: "open", avatar: "mxc://x/avatar", permissions: { send_embeds: false } }]]);
    expect(roomNotices.at(-1)).toBe('Inbound hook "open" was changed through its URL: new avatar mxc://x/avatar, permission send_embeds turned off.');
    expect(await send(`/webhook/${secrets.open}`, { method: "PATCH", ...json({ name: "taken" }) })).toMatchObject({ status: 409, json: { ok: false, error: 'the room already has an inbound hook "taken"' } });
    expect(await send(`/webhook/${secrets.strict}`, { method: "PATCH", ...json({ permissions: { upload_files: true } }) })).toMatchObject({ status: 403, json: { error: expect.stringContaining("room admin") } });
    expect(await send(`/webhook/${secrets.open}`, { method: "PATCH", ...json({ avatar: "https://img.example/a.png" }) })).toMatchObject({ status: 400, json: { error: expect.stringContaining("could not be fetched") } });
    expect(await send(`/webhook/${secrets.open}`, { method: "PATCH", body: "" })).toMatchObject({ status: 400 });
    expect(stateWrites.length).toBe(writes + 1);
    expect(await send(`/webhook/${secrets.open}`, { method: "DELETE" })).toMatchObject({ status: 204, text: "" });
    expect(stateWrites.at(-1)).toEqual(["open", {}]);
    expect(roomNotices.at(-1)).toBe('Inbound hook "open" was deleted through its URL; it no longer works.');
  });

  it("PATCH and DELETE /messages/{id} edit and redact the hook's own message only; permissions apply to posts", async () => {
    const discordMessage = await send(`/webhook/${secrets.open}/discord?wait=true`, json({ content: "first" }));
    const id = String(discordMessage.json!.id);
    const edited = await send(`/webhook/${secrets.open}/messages/${encodeURIComponent(id)}`, { method: "PATCH", ...json({ text: "second" }) });
    expect(edited).toMatchObject({ status: 200, json: { ok: true, event_id: id, edit_event_id: `$event${posted.length}` } });
    expect(posted.at(-1)).toMatchObject({ body: "* second", "m.new_content": { body: "second" }, "m.relates_to": { rel_type: "m.replace", event_id: id } });
    for (const [secret, method] of [[secrets.signed, "PATCH"], [secrets.signed, "DELETE"], [secrets.open, "GET"]] as const) {
      const res = await send(`/webhook/${secret}/messages/${encodeURIComponent(id)}`, { method, ...(method === "PATCH" ? json({ text: "x" }) : {}) });
      expect([secret, method, res.status, res.text]).toEqual([secret, method, 404, "{}"]);
    }
    expect(await send(`/webhook/${secrets.open}/messages/${encodeURIComponent(id)}`, { method: "DELETE" })).toMatchObject({ status: 204, text: "" });
    expect((await send(`/webhook/${secrets.open}/messages/${encodeURIComponent(id)}`, { method: "DELETE" })).status).toBe(404);
    // The strict hook: no masquerade (403), no embeds (plain text only).
    expect(await send(`/webhook/${secrets.strict}`, json({ text: "x", username: "Grafana" }))).toMatchObject({ status: 403, json: { ok: false, error: expect.stringContaining("masquerade") } });
    expect(await send(`/webhook/${secrets.strict}`, json({ text: "**b**" }))).toMatchObject({ status: 200 });
    expect(posted.at(-1)).toMatchObject({ body: "**b**" });
    expect(posted.at(-1)!.formatted_body).toBeUndefined();
  });
});

describe("GET /webhook/{id}/posts/{post}: a queued post's state", () => {
  it("answers the hook's own post, and 404 {} for another hook's, an unknown or malformed id, or an unknown hook", async () => {
    expect(await send(`/webhook/${secrets.open}/posts/${openPost.id}`, { method: "GET" })).toMatchObject({
      status: 200,
      json: { ok: true, id: openPost.id, state: "queued", event_ids: [], created_at: "2023-11-14T22:13:20.000Z" },
    });
    for (const path of [`${secrets.open}/posts/${signedPost.id}`, `${secrets.open}/posts/ip_${"A".repeat(22)}`, `${secrets.open}/posts/constructor`, `${secrets.unknown}/posts/${openPost.id}`]) {
      const res = await send(`/webhook/${path}`, { method: "GET" });
      expect([res.status, res.text], path).toEqual([404, "{}"]);
    }
    expect((await send(`/webhook/${secrets.open}/posts/${openPost.id}`, { method: "POST", body: "x" })).status).toBe(404);
  });
});

// ---- fuzz: random and malformed bodies, headers, paths and methods ----

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [...PROTOTYPE_NAMES, "\uD800", "k\uDC00", "text", "text", "html", "content", "msgtype", "username", "avatar_url", "masquerade", "blocks", "attachments", "type", "elements", "fields", "title",
  "value", "pretext", "ref", "name", "avatar", "remove", "permissions", "respond", "send_embeds", "masquerade", "commits", "action", "pull_request", "issue", "comment", "release", "sender", "repository", "zen", "number", "style", "url", "mrkdwn", "payload"];
const STRINGS = ["", " ", "hi", "**b**", "<script>alert(1)</script>", "<a href=javascript:x>j</a>", "<img src=x onerror=alert(1)>", "m.text", "m.notice", "m.image",
  "section", "rich_text", "rich_text_section", "rich_text_list", "header", "divider", "context", "actions", "button", "mrkdwn", "plain_text", "text", "link", "emoji",
  "<https://x.y|z>", "*a*_b_~c~", "refs/heads/main", "opened", "closed", "\u0000\uD800", "é".repeat(50), "https://a.example/x", "mxc://x/y", "1f389", "zzzzzz-1",
  "\uD800", "a \uDC00 b", "\uDBFF\uDBFF", "😀", "\uD83D", ...PROTOTYPE_NAMES];
// Numbers canonical JSON cannot hold: fractions, exponents, integers beyond ±(2^53−1).
const NUMBERS = [3.14, -0.5, 1712345678.5, 1e-7, 2 ** 53, 2 ** 60, -(2 ** 63), 1e308, 2 ** 53 - 1, 0, -1];
// Bodies written as text, for what JSON.stringify cannot write (exact huge integers, exponents).
const LITERAL_BODIES = ['{"text":"hi","score":3.14}', '{"attachments":[{"text":"x","ts":1712345678.5}]}', "3.14", "1152921504606846976", "12345678901234567891",
  '{"text":"a \\ud800 b"}', '{"\\udc00":1.5e300,"text":"\\ud83d"}', '{"text":"x","n":1E400}', '[-0.0, 1.0, 2e0]', '{"constructor":{"text":1.5},"__proto__":{"text":"p"},"text":"ok"}'];
const GITHUB_EVENTS = ["push", "ping", "pull_request", "issues", "issue_comment", "release", "workflow_run", "PUSH", "a b", "", "x".repeat(80), ...PROTOTYPE_NAMES];

const DISCORD_KEYS = ["content", "username", "avatar_url", "embeds", "allowed_mentions", "flags", "attachments", "tts", "components", "payload_json", ...PROTOTYPE_NAMES];
const EMBED_KEYS = ["title", "description", "url", "color", "timestamp", "fields", "author", "footer", "image", "thumbnail", "name", "value", "inline", "text", "icon_url", ...PROTOTYPE_NAMES];
const MESSAGE_IDS = ["%24event1", "%24event2", "%24event3", "%24nope", "x", "%24", "%24event1%2F..", ...PROTOTYPE_NAMES];

/** Bodies shaped like Discord's: known keys, embeds of known keys, values of every kind and length. */
function discordValue(r: () => number, pick: <T>(list: readonly T[]) => T, value: (depth: number) => unknown): unknown {
  const long = () => "x".repeat(pick([0, 1, 80, 81, 256, 257, 1024, 1025, 2000, 2001, 4097]));
  const scalar = () => pick([() => pick(STRINGS), long, () => pick(NUMBERS), () => pick([true, false, null, 4, 4096, 4100, 0xffffff, -1]), () => value(2)])();
  const embedPart = (depth: number): unknown => {
    if (depth > 2 || r() < 0.5) return scalar();
    if (r() < 0.4) return Array.from({ length: pick([0, 1, 3, 26]) }, () => embedPart(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, () => [pick(EMBED_KEYS), embedPart(depth + 1)]));
  };
  const body: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 4); i >= 0; i--) {
    const key = pick(DISCORD_KEYS);
    body[key] = key === "embeds" ? Array.from({ length: pick([0, 1, 2, 11]) }, () => embedPart(0)) : key === "allowed_mentions" ? { parse: [pick(["everyone", "users", "x"])] } : scalar();
  }
  return body;
}

function multipartBody(r: () => number, pick: <T>(list: readonly T[]) => T, payload: string): { body: Buffer; type: string } {
  const b = "fuzzBoundary7";
  const parts = [`--${b}\r\nContent-Disposition: form-data; name="payload_json"\r\n\r\n${payload}\r\n`];
  for (let i = Math.floor(r() * 3); i > 0; i--) {
    const bytes = Array.from({ length: Math.floor(r() * 200) }, () => String.fromCharCode(Math.floor(r() * 256))).join("");
    parts.push(`--${b}\r\nContent-Disposition: form-data; name="files[${i}]"; filename="${pick(STRINGS).replace(/["\r\n]/g, "")}"\r\nContent-Type: ${pick(["image/png", "text/plain", "image/svg+xml", "x"])}\r\n\r\n${r() < 0.2 ? "\x89PNG\r\n\x1a\n" : ""}${bytes}\r\n`);
  }
  const text = parts.join("") + (r() < 0.9 ? `--${b}--\r\n` : "");
  return { body: Buffer.from(text, "latin1"), type: r() < 0.9 ? `multipart/form-data; boundary=${b}` : pick(["multipart/form-data", "multipart/form-data; boundary="]) };
}

function fuzzCase(r: () => number) {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const value = (depth: number): unknown => {
    const k = r();
    if (depth > 5 || k < 0.35) return pick(STRINGS);
    if (k < 0.45) return Math.floor(r() * 2000) - 1000;
    if (k < 0.5) return pick([true, false, null, 1e308, -0.5, ...NUMBERS]);
    if (k < 0.7) return Array.from({ length: Math.floor(r() * 5) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(r() * 6) }, () => [pick(KEYS), value(depth + 1)]));
  };
  const mutate = (s: string) => {
    const chars = [...s];
    for (let i = Math.floor(r() * 4); i > 0; i--) chars.splice(Math.floor(r() * (chars.length + 1)), Math.floor(r() * 3), pick(["{", "}", "\"", ",", ":", "[", "\\", "\u0000", "é", ""]));
    return chars.join("");
  };
  const enc = (s: string) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, "?"));
  const kind = r();
  let body: string | Buffer;
  if (kind < 0.3) body = JSON.stringify(value(0));
  else if (kind < 0.45) body = mutate(JSON.stringify(value(0)));
  else if (kind < 0.55) body = Buffer.from(Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256)));
  else if (kind < 0.65) body = `payload=${r() < 0.5 ? enc(JSON.stringify(value(0))) : mutate("%7B%22text%22%3A")}&${pick(KEYS)}=${enc(pick(STRINGS))}`;
  else if (kind < 0.7) body = "[".repeat(Math.floor(r() * 5000)) + "]".repeat(Math.floor(r() * 5000));
  else if (kind < 0.72) body = "x".repeat(MAX_BODY + 1 + Math.floor(r() * 1000));
  else if (kind < 0.75) body = "";
  else if (kind < 0.82) body = pick(LITERAL_BODIES);
  else body = pick(STRINGS) + mutate(pick(STRINGS)) + String.fromCodePoint(Math.floor(r() * 0x10ffff) & 0xffff);
  const headers: Record<string, string> = {};
  // A header named like an Object.prototype property, as an own key (plain assignment of "__proto__" would not make one).
  if (r() < 0.1) Object.defineProperty(headers, pick(PROTOTYPE_NAMES).toLowerCase(), { value: pick(STRINGS).replace(/[^\x20-\x7e]/g, "?"), enumerable: true });
  if (r() < 0.9) headers["content-type"] = pick(["application/json", "text/plain", "application/x-www-form-urlencoded", "text/html", "multipart/form-data",
    "application/xml", "application/json; charset=latin1", "text/plain; charset=bogus", "application/x-www-form-urlencoded; charset=utf-16le", "*/*", "x", "text/x; a=\"b",
    "application/json; charset=constructor", `text/plain; charset=${pick(PROTOTYPE_NAMES)}`, pick(PROTOTYPE_NAMES)]);
  if (r() < 0.5) headers["x-github-event"] = pick(GITHUB_EVENTS);
  if (r() < 0.1) headers["idempotency-key"] = pick(PROTOTYPE_NAMES);
  if (r() < 0.3) headers["x-hub-signature-256"] = r() < 0.5 ? githubSignature("gh-secret", body) : pick(["sha256=00", "", "sha1=abc", githubSignature("nope", body)]);
  if (r() < 0.05) headers["content-encoding"] = pick(["gzip", "identity", "br", "bogus"]);
  const secret = pick([secrets.open, secrets.open, secrets.signed, secrets.limited, secrets.transformed, secrets.unknown, "x".repeat(22), "%E0%A4%A"]);
  const variant = pick(["", "", "/slack", "/github", "/github", "/x", "/", `/${pick(PROTOTYPE_NAMES)}`, "/discord", "/discord", "/discord?wait=true", "/discord/messages/", "/discord/messages/", "/messages/", "/messages/"]);
  const path = `/webhook/${r() < 0.2 && (variant.startsWith("/discord") || variant === "") ? pick([secrets.open, secrets.strict]) : secret}${variant.endsWith("/messages/") ? `${variant}${pick(MESSAGE_IDS)}` : variant}`;
  if (variant.startsWith("/discord")) {
    const shaped = JSON.stringify(discordValue(r, pick, value));
    if (r() < 0.4) {
      body = shaped;
      headers["content-type"] = "application/json";
    } else if (r() < 0.3) {
      const form = multipartBody(r, pick, r() < 0.8 ? shaped : mutate(shaped));
      body = form.body;
      headers["content-type"] = form.type;
    }
  }
  // The strict hook asked to masquerade: without this a 403 came up only a few times per run.
  if (path.includes(secrets.strict) && !variant.includes("/messages/") && r() < 0.3) {
    body = JSON.stringify({ [variant.startsWith("/discord") ? "content" : "text"]: pick(STRINGS), username: pick(STRINGS) });
    headers["content-type"] = "application/json";
  }
  const messageRoute = variant.endsWith("/messages/");
  // The hook's own URL also takes GET, PATCH and DELETE (management by URL).
  const method = messageRoute ? pick(["GET", "PATCH", "DELETE", "PATCH", "POST"]) : r() < (variant === "" ? 0.75 : 0.95) ? pick(["POST", "PUT"]) : pick(["GET", "DELETE", "PATCH", "PATCH", "OPTIONS"]);
  // Discord's own URL shape, with the hook's id or another.
  const aliased = variant.startsWith("/discord") && r() < 0.25 ? path.replace(/^\/webhook\/([^/?]+)\/discord/, (_m, s: string) => `/api/${pick(["v10", "v9", "x", ""])}/webhooks/${pick([hooks.get(s)?.id ?? "nope", "nope", "constructor"])}/${s}`.replace("/api//", "/api/")) : path;
  return { path: aliased, method, body: method === "GET" || method === "DELETE" ? undefined : body, headers };
}

/** A Discord route's answer: documented, 204 empty, every error in Discord's shape (an unknown hook still `{}`). */
function discordAnswerOk(path: string, res: Awaited<ReturnType<typeof send>>): boolean {
  if (!DISCORD_DOCUMENTED.has(res.status)) return false;
  if (res.status === 204) return res.text === "";
  if (res.json === undefined) return false;
  if (res.status === 404 && res.text === "{}") return true;
  if (res.status === 404) return path.includes("/messages/") && res.json.code === 10008;
  if (res.status === 429 && !(Number(res.headers["retry-after"]) >= 1)) return false;
  // A message object, or (GET/PATCH of the webhook) the webhook object.
  if (res.status === 200) return typeof res.json.id === "string" && (res.json.type === 0 || res.json.type === 1);
  return typeof res.json.message === "string" && typeof res.json.code === "number";
}

describe("fuzz", () => {
  it("answers 10,000 random and malformed requests with documented codes only, never crashing", { timeout: 120_000 }, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const r = rng(seed);
    const cases = Array.from({ length: 10_000 }, () => fuzzCase(r));
    const seen = new Map<number, number>();
    const seenDiscord = new Map<number, number>();
    const bad: string[] = [];
    const before = posted.length;
    const refusedBefore = refusals.length;
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const res = await send(c.path, c);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        const discord = (c.path.includes("/discord") || c.path.startsWith("/api/")) && c.method !== "PUT" && c.method !== "OPTIONS";
        const ok = discord ? discordAnswerOk(c.path, res) : DOCUMENTED.has(res.status) && (res.status === 204 ? res.text === "" : res.json !== undefined) && (res.status !== 404 || res.text === "{}") &&
          (res.status !== 429 || Number(res.headers["retry-after"]) >= 1) && (res.status !== 200 || res.json?.ok === true);
        if (discord) seenDiscord.set(res.status, (seenDiscord.get(res.status) ?? 0) + 1);
        if (!ok && bad.length < 5) bad.push(`${c.method} ${c.path} ${JSON.stringify(c.headers)} → ${res.status} ${res.text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(bad, `seed ${seed}`).toEqual([]);
    // Nothing the bridge sent was refused by the homeserver's rules (a refusal may still answer a documented 400).
    expect(refusals.slice(refusedBefore), `seed ${seed}`).toEqual([]);
    for (const content of posted.slice(before)) {
      expect(["m.notice", "m.text", "m.emote", "m.image", "m.file"]).toContain(content.msgtype);
      if (content.msgtype === "m.image") expect(content.info, `seed ${seed}`).toMatchObject({ mimetype: expect.stringMatching(/^image\/(png|gif|jpeg|webp)$/) });
      expect(typeof content.body === "string" && content.body.trim().length > 0, `seed ${seed}`).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(content))).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
      // No live script, event handler or javascript: link (as escaped text they are fine).
      expect(String(content.formatted_body ?? "")).not.toMatch(/<script|<[^>]*\son\w+\s*=|<[^>]*(href|src)\s*=\s*["']?\s*javascript:/i);
    }
    // Every kind of answer came up, and the server still serves.
    for (const status of [200, 204, 400, 403, 404, 413, 415, 429]) expect(seen.get(status) ?? 0, `seed ${seed}: ${status} in ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
    for (const status of [200, 204, 400, 403, 404]) expect(seenDiscord.get(status) ?? 0, `seed ${seed}: discord ${status} in ${JSON.stringify([...seenDiscord])}`).toBeGreaterThan(0);
    expect((await send(`/webhook/${secrets.open}`, json({ text: "still alive" }))).status).toBe(200);
  });
});
