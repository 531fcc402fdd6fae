// Inbound webhooks end to end: real Synapse, the bridge in this process, a real HTTP client.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INBOUND_HOOK_EVENT_TYPE } from "../src/connections/inbound-hook-state.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { PER_MESSAGE_PROFILE_KEY, RAW_PAYLOAD_KEY } from "../src/inbound/content.js";
import { githubSignature } from "../src/inbound/github/signature.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { forEvent, Receiver } from "./harness/receiver.js";
import { botNotice, roomWithBot, secretFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

let bridge: BridgeUnderTest;
let admin: TestClient;
let member: TestClient;
let roomId: string;
let images: Server;
const dm = new Set<string>();
const urls = new Map<string, string>();

beforeAll(async () => {
  bridge = await startBridge({ inbound: { rateLimitPerMinute: 120, rateLimitBurst: 10, allowIdentityOverride: true } });
  admin = (await registerUser(uniqueName("admin"))).client;
  member = (await registerUser(uniqueName("member"))).client;
  roomId = await roomWithBot(admin, bridge.botUserId, { invite: [member.userId] });
  await member.join(roomId);
  images = createServer((_req, res) => void res.writeHead(200, { "content-type": "image/png" }).end(PNG));
  await new Promise<void>((r) => images.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  await bridge?.stop();
  images?.closeAllConnections();
  await new Promise((r) => images?.close(r));
});

async function addHook(name: string): Promise<string> {
  await admin.sendMessage(roomId, `!hooks inbound add "${name}"`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Inbound hook "${name}" added`));
  const url = await secretFromDm(admin, bridge.botUserId, `URL of inbound hook "${name}"`, dm);
  urls.set(name, url);
  return url;
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = { "content-type": "application/json" }, method = "POST") {
  const res = await fetch(url, { method, body, headers });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text, json: JSON.parse(text) as { ok?: boolean; event_id?: string; error?: string } };
}

/** Posts and returns the event as the room sees it. */
async function posted(url: string, body: unknown, headers?: Record<string, string>): Promise<MatrixEvent> {
  const res = await post(url, typeof body === "string" ? body : JSON.stringify(body), headers);
  expect(res.status, res.text).toBe(200);
  expect(res.json).toEqual({ ok: true, event_id: expect.stringMatching(/^\$/) });
  return admin.waitForEvent(roomId, (e) => e.event_id === res.json.event_id);
}

const member_ = async (userId: string) => (await admin.getJoinedMembers(roomId))[userId];

describe("inbound hooks on a real Synapse", () => {
  let ghost: string;

  it("adds a hook by command: Hookshot's state, the URL only by direct message", async () => {
    const url = await addHook("CI Bot");
    expect(url).toMatch(new RegExp(`^${bridge.url}/webhook/[A-Za-z0-9_-]{22}$`));
    expect(await admin.getStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "CI Bot")).toEqual({ name: "CI Bot" });
    const secret = url.split("/").at(-1)!;
    expect(JSON.stringify(await admin.messages(roomId, { limit: 100 }))).not.toContain(secret);
    expect(JSON.stringify(await admin.request("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`))).not.toContain(secret);
  });

  it("posts JSON text as markdown, from the hook's own user with its name", async () => {
    const event = await posted(urls.get("CI Bot")!, { text: "**Build 7** passed, see [log](https://ci.example/7)" });
    ghost = event.sender;
    expect(ghost).toMatch(/^@webhook_ih_[0-9a-f]{16}:/);
    expect(event.content).toMatchObject({
      msgtype: "m.notice",
      body: "**Build 7** passed, see [log](https://ci.example/7)",
      format: "org.matrix.custom.html",
      formatted_body: '<strong>Build 7</strong> passed, see <a href="https://ci.example/7">log</a>',
      [RAW_PAYLOAD_KEY]: { text: "**Build 7** passed, see [log](https://ci.example/7)" },
    });
    expect((await member_(ghost))?.display_name).toBe("CI Bot");
  });

  it("takes forms (payload=), plain text, HTML (sanitized) and msgtype", async () => {
    const form = await posted(urls.get("CI Bot")!, `payload=${encodeURIComponent(JSON.stringify({ text: "from a _form_" }))}`, { "content-type": "application/x-www-form-urlencoded" });
    expect(form.content).toMatchObject({ body: "from a _form_", formatted_body: "from a <em>form</em>" });
    const text = await posted(urls.get("CI Bot")!, "plain words", { "content-type": "text/plain" });
    expect(text.content).toMatchObject({ body: "plain words", msgtype: "m.notice" });
    const html = await posted(urls.get("CI Bot")!, { html: "<p>Deployed <b>v2</b><script>alert(1)</script></p>", msgtype: "m.text" });
    expect(html.content).toMatchObject({ msgtype: "m.text", body: "Deployed v2", formatted_body: "<p>Deployed <b>v2</b></p>" });
    expect(html.sender).toBe(ghost);
  });

  it("renders Slack payloads: links, attachments, blocks", async () => {
    const url = `${urls.get("CI Bot")!}/slack`;
    const simple = await posted(url, { text: "Deploy *done* for <https://app.example|the app> &lt;3", attachments: [{ title: "Changes", text: "3 commits", fields: [{ title: "Env", value: "prod" }] }] });
    expect(simple.content.body).toBe("Deploy *done* for the app (https://app.example) <3\n> Changes\n> 3 commits\n> Env: prod");
    expect(simple.content.formatted_body).toBe('Deploy <strong>done</strong> for <a href="https://app.example">the app</a> &lt;3<blockquote><strong>Changes</strong><br />3 commits<br /><strong>Env:</strong> prod</blockquote>');
    const blocks = await posted(url, { text: "fallback", blocks: [{ type: "header", text: { type: "plain_text", text: "Release" } }, { type: "section", text: { type: "mrkdwn", text: "v2 is <https://r.example|out>" } }] });
    expect(blocks.content).toMatchObject({ body: "Release\nv2 is out (https://r.example)", formatted_body: '<h4>Release</h4>v2 is <a href="https://r.example">out</a>' });
  });

  it("renders GitHub events, and refuses bad signatures once a secret is set", async () => {
    const url = `${await addHook("GitHub")}/github`;
    const repository = { full_name: "octo/app", html_url: "https://github.com/octo/app" };
    const sender = { login: "octocat" };
    const gh = async (event: string, payload: object, secret?: string) => {
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": event, ...(secret ? { "x-hub-signature-256": githubSignature(secret, body) } : {}) };
      return { res: await post(url, body, headers), body };
    };
    const first = (await gh("ping", { zen: "Keep it logically awesome.", repository })).res;
    expect(first.status).toBe(200);
    await admin.sendMessage(roomId, '!hooks inbound github-secret GitHub');
    await botNotice(admin, roomId, bridge.botUserId, /GitHub requests to "GitHub" must now be signed/);
    const secret = await secretFromDm(admin, bridge.botUserId, 'GitHub secret of inbound hook "GitHub"', dm);
    expect((await gh("ping", { zen: "x" })).res).toMatchObject({ status: 401, json: { ok: false } });
    expect((await gh("ping", { zen: "x" }, "wrong-secret")).res.status).toBe(401);
    const cases: Array<[string, object, RegExp]> = [
      ["push", { ref: "refs/heads/main", compare: "https://github.com/octo/app/compare/a...b", sender, repository, commits: [{ id: "abcdef1234567", message: "Fix it", url: "https://github.com/octo/app/commit/abcdef1", author: { username: "octocat" } }] },
        /^octocat pushed 1 commit \(https:\/\/github.com\/octo\/app\/compare\/a...b\) to `main` in octo\/app .*\n- abcdef1 Fix it — octocat$/],
      ["pull_request", { action: "opened", number: 3, pull_request: { title: "Add feature", html_url: "https://github.com/octo/app/pull/3", body: "Please review" }, sender, repository },
        /^octocat opened pull request #3: Add feature \(https:\/\/github.com\/octo\/app\/pull\/3\) in octo\/app .*\n> Please review$/],
      ["issues", { action: "closed", issue: { number: 4, title: "Crash", html_url: "https://github.com/octo/app/issues/4" }, sender, repository }, /^octocat closed issue #4: Crash/],
      ["issue_comment", { action: "created", issue: { number: 4, title: "Crash" }, comment: { body: "Fixed in #3", html_url: "https://github.com/octo/app/issues/4#c" }, sender, repository },
        /^octocat commented \(https:\/\/github.com\/octo\/app\/issues\/4#c\) on issue #4: Crash in octo\/app .*\n> Fixed in #3$/],
      ["release", { action: "published", release: { tag_name: "v1.0.0", html_url: "https://github.com/octo/app/releases/v1.0.0" }, sender, repository }, /^octocat published release v1.0.0 /],
      ["ping", { zen: "Speak like a human.", repository }, /^GitHub webhook set up in octo\/app/],
    ];
    for (const [event, payload, expected] of cases) {
      const { res } = await gh(event, payload, secret);
      expect(res.status, `${event}: ${res.text}`).toBe(200);
      const seen = await admin.waitForEvent(roomId, (e) => e.event_id === res.json.event_id);
      expect(String(seen.content.body)).toMatch(expected);
      expect(seen.content.formatted_body).toEqual(expect.any(String));
      expect(seen.sender).not.toBe(ghost);
    }
    expect((await member_((await admin.messages(roomId, { limit: 1 })).chunk[0]!.sender))?.display_name).toBe("GitHub");
  });

  it("shows a rename and a new avatar (mxc or image URL) on the next message, from the same user", async () => {
    await admin.sendMessage(roomId, '!hooks inbound rename "CI Bot" Deployer');
    await botNotice(admin, roomId, bridge.botUserId, /"CI Bot" is now "Deployer"/);
    expect(await admin.getStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "Deployer")).toEqual({ name: "Deployer" });
    expect(await admin.getStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "CI Bot")).toEqual({});
    const mxc = await admin.uploadMedia(PNG, "image/png", "a.png");
    await admin.sendMessage(roomId, `!hooks inbound avatar Deployer ${mxc}`);
    await botNotice(admin, roomId, bridge.botUserId, /"Deployer" now posts with avatar/);
    const renamed = await posted(urls.get("CI Bot")!, { text: "after rename" });
    expect(renamed.sender).toBe(ghost);
    expect(await member_(ghost)).toEqual({ display_name: "Deployer", avatar_url: mxc });

    const imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/avatar.png`;
    await admin.sendMessage(roomId, `!hooks inbound avatar Deployer ${imageUrl}`);
    const notice = await botNotice(admin, roomId, bridge.botUserId, new RegExp(`"Deployer" now posts with avatar (?!${mxc.replace(/[/.]/g, "\\$&")})mxc://`));
    const imported = /avatar (mxc:\/\/\S+)\./.exec(String(notice.content.body))![1]!;
    expect(imported).not.toBe(mxc);
    await posted(urls.get("CI Bot")!, { text: "new face" });
    expect((await member_(ghost))?.avatar_url).toBe(imported);
  });

  it("marks a per-message identity (allowed in this config) with an MSC4144 profile", async () => {
    const event = await posted(urls.get("CI Bot")!, { text: "hi from *octo*", username: "octo-bot", avatar_url: "mxc://localhost/abc" });
    expect(event.sender).toBe(ghost);
    expect(event.content).toMatchObject({
      body: "octo-bot: hi from *octo*",
      formatted_body: "<strong data-mx-profile-fallback>octo-bot: </strong>hi from <em>octo</em>",
      [PER_MESSAGE_PROFILE_KEY]: { id: "webhook:octo-bot", displayname: "octo-bot", avatar_url: "mxc://localhost/abc", has_fallback: true },
    });
  });

  it("rotates: the old URL is dead, the new one posts", async () => {
    const old = urls.get("CI Bot")!;
    await admin.sendMessage(roomId, "!hooks inbound rotate Deployer");
    await botNotice(admin, roomId, bridge.botUserId, /"Deployer" has a new URL/);
    const fresh = await secretFromDm(admin, bridge.botUserId, 'URL of inbound hook "Deployer" in', dm);
    expect(fresh).not.toBe(old);
    expect(await post(old, JSON.stringify({ text: "old" }))).toMatchObject({ status: 404, text: "{}" });
    expect((await posted(fresh, { text: "new url" })).sender).toBe(ghost);
    urls.set("Deployer", fresh);
  });

  it("answers the documented codes: 404, 400, 413, 429", async () => {
    const url = await addHook("limits");
    const unknown = url.replace(/[^/]{22}$/, "A".repeat(22));
    expect(await post(unknown, '{"text":"x"}')).toMatchObject({ status: 404, text: "{}" });
    expect(await post(`${url}/nonsense`, '{"text":"x"}')).toMatchObject({ status: 404, text: "{}" });
    expect(await post(url, '{"text": "unclosed')).toMatchObject({ status: 400, json: { ok: false, error: expect.stringMatching(/not valid JSON/) } });
    expect((await post(url, Buffer.alloc(1024 * 1024 + 1, 0x61), { "content-type": "text/plain" })).status).toBe(413);
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await post(url, "{bad json", { "content-type": "application/json" }));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(limited[0]!.json).toMatchObject({ ok: false, error: "this hook is over its rate limit" });
  });

  it("never delivers inbound messages to the room's outbound hooks", async () => {
    const receiver = await Receiver.start();
    try {
      await admin.sendMessage(roomId, `!hooks outbound add mirror ${receiver.url}/mirror`);
      await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "mirror" added/);
      const inbound = await posted(urls.get("Deployer")!, { text: "do not echo me" });
      const marker = await member.sendMessage(roomId, "marker");
      await receiver.waitFor(forEvent(marker));
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.requests.filter(forEvent(inbound.event_id))).toEqual([]);
    } finally {
      await receiver.stop();
    }
  });

  it("refuses members without power, and removes a hook: 404 and its user leaves", async () => {
    await member.sendMessage(roomId, "!hooks inbound remove Deployer");
    await botNotice(member, roomId, bridge.botUserId, /managing hooks here needs power level 50/);
    await admin.sendMessage(roomId, "!hooks inbound remove Deployer");
    await botNotice(admin, roomId, bridge.botUserId, /"Deployer" removed/);
    expect(await post(urls.get("Deployer")!, JSON.stringify({ text: "gone?" }))).toMatchObject({ status: 404, text: "{}" });
    await admin.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === ghost && e.content.membership === "leave");
  });

  it("removes a hook whose state event is redacted: a notice, then 404", async () => {
    const url = await addHook("Redacted");
    expect((await post(url, JSON.stringify({ text: "still here" }))).status).toBe(200);
    const state = await admin.request<Array<{ type: string; state_key: string; event_id: string }>>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`);
    const hookState = state.find((e) => e.type === INBOUND_HOOK_EVENT_TYPE && e.state_key === "Redacted")!;
    await admin.redact(roomId, hookState.event_id);
    await botNotice(admin, roomId, bridge.botUserId, /Removed inbound hook "Redacted": its configuration was redacted by/);
    expect(await post(url, JSON.stringify({ text: "gone?" }))).toMatchObject({ status: 404, text: "{}" });
  });
});
