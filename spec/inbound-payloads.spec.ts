// Inbound payloads a homeserver would refuse as they are, on a real Synapse: numbers canonical JSON
// cannot hold, lone surrogates, keys named like Object.prototype's properties, Slack forms on the
// generic route; and how the homeserver's own answers reach the sender.
import { DEFAULT_INBOUND_PERMISSIONS } from "../src/connections/inbound-permissions.js";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ActiveInboundHook } from "../src/connections/inbound-hook-registry.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { RAW_PAYLOAD_KEY } from "../src/inbound/content.js";
import { homeserverAnswer } from "../src/inbound/homeserver-answer.js";
import { InboundPoster } from "../src/inbound/poster.js";
import { AppserviceMatrix } from "../src/matrix/appservice-matrix.js";
import { loadRegistration } from "../src/matrix/registration.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { botNotice, roomWithBot, secretFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";
import type {} from "./harness/global-setup.js";

let bridge: BridgeUnderTest;
let admin: TestClient;
let roomId: string;
let url: string;
const dm = new Set<string>();
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), "__proto__"];

beforeAll(async () => {
  bridge = await startBridge({ inbound: { rateLimitPerMinute: 6000, rateLimitBurst: 200, allowIdentityOverride: true } });
  admin = (await registerUser(uniqueName("admin"))).client;
  roomId = await roomWithBot(admin, bridge.botUserId);
  await admin.sendMessage(roomId, "!hooks inbound add payloads");
  await botNotice(admin, roomId, bridge.botUserId, /Inbound hook "payloads" added/);
  url = await secretFromDm(admin, bridge.botUserId, 'URL of inbound hook "payloads"', dm);
});

afterAll(async () => {
  await bridge?.stop();
});

async function post(path: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }) {
  const res = await fetch(`${url}${path}`, { method: "POST", body, headers });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as { ok?: boolean; event_id?: string; error?: string } };
}

/** Posts a body as it is written (no JSON.stringify: the numbers and escapes are the sender's) and returns the event. */
async function posted(body: string, path = "", headers?: Record<string, string>): Promise<MatrixEvent> {
  const res = await post(path, body, headers);
  expect(res.status, res.text).toBe(200);
  return admin.waitForEvent(roomId, (e) => e.event_id === res.json.event_id);
}

/** What Synapse answers when the same content is sent as it is, without the bridge's care. */
async function sentAsIs(content: string): Promise<string> {
  const res = await fetch(`${admin.hsUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${uniqueName("t")}`, {
    method: "PUT", body: content, headers: { authorization: `Bearer ${admin.accessToken}`, "content-type": "application/json" },
  });
  const text = await res.text();
  return `${res.status} ${res.ok ? "" : (JSON.parse(text) as { errcode?: string }).errcode ?? text}`.trim();
}

describe("numbers the homeserver refuses", () => {
  it("Synapse refuses a float or a huge integer in event content (what the bridge must avoid)", async () => {
    expect(await sentAsIs('{"msgtype":"m.notice","body":"x","score":3.14}')).toBe("400 M_BAD_JSON");
    expect(await sentAsIs('{"msgtype":"m.notice","body":"x","n":1152921504606846976}')).toBe("400 M_BAD_JSON");
  });

  it("posts them, with the raw payload's numbers as strings of their exact text", async () => {
    const score = await posted('{"text":"hi","score":3.14}');
    expect(score.content).toMatchObject({ body: "hi", [RAW_PAYLOAD_KEY]: { text: "hi", score: "3.14" } });
    const slack = await posted('{"text":"deployed","attachments":[{"text":"build 7","ts": 1712345678.5}]}', "/slack");
    expect(slack.content).toMatchObject({ body: "deployed\n> build 7", [RAW_PAYLOAD_KEY]: { attachments: [{ text: "build 7", ts: "1712345678.5" }] } });
    const bare = await posted("3.14");
    expect(bare.content).toMatchObject({ [RAW_PAYLOAD_KEY]: "3.14" });
    expect(String(bare.content.body)).toContain("3.14");
    const huge = await posted("1152921504606846976");
    expect(huge.content[RAW_PAYLOAD_KEY]).toBe("1152921504606846976");
    const exact = await posted('{"text":"ids","id":12345678901234567891,"small":42,"two":2.0}');
    expect(exact.content[RAW_PAYLOAD_KEY]).toEqual({ text: "ids", id: "12345678901234567891", small: 42, two: 2 });
  });
});

describe("text the homeserver cannot store", () => {
  it("Synapse fails on a lone surrogate (500), so the bridge must not send one", async () => {
    expect(await sentAsIs('{"msgtype":"m.notice","body":"a \\ud800 b"}')).toMatch(/^500/);
  });

  it("posts lone surrogates as U+FFFD, in text, HTML, username and raw keys and values", async () => {
    const text = await posted('{"text":"a \\ud800 b","\\udc00":"\\ud83d"}');
    expect(text.content).toMatchObject({ body: "a \uFFFD b", [RAW_PAYLOAD_KEY]: { text: "a \uFFFD b", "\uFFFD": "\uFFFD" } });
    const html = await posted('{"html":"<b>x\\udfff</b>","username":"bot\\ud800"}');
    expect(html.content).toMatchObject({ body: "bot\uFFFD: x\uFFFD", formatted_body: expect.stringContaining("<b>x\uFFFD</b>") });
    const paired = await posted('{"text":"\\ud83d\\ude00 fine"}');
    expect(paired.content.body).toBe("😀 fine");
  });
});

describe("keys chosen by the sender", () => {
  it("an X-GitHub-Event named like an Object.prototype property gets the one-line summary or a 400, never a 500", async () => {
    const payload = JSON.stringify({ text: "RAW TEXT", html: "<b>RAW HTML</b>", action: "done", sender: { login: "octocat" } });
    for (const name of PROTOTYPE_NAMES) {
      const res = await post("/github", payload, { "content-type": "application/json", "x-github-event": name });
      if (/^[a-z_]+$/.test(name)) {
        expect(res.status, `${name}: ${res.text}`).toBe(200);
        const event = await admin.waitForEvent(roomId, (e) => e.event_id === res.json.event_id);
        expect(event.content.body).toBe(`octocat triggered \`${name}\` (done)`);
        expect(JSON.stringify(event.content.formatted_body)).not.toContain("RAW");
      } else {
        expect(res, name).toMatchObject({ status: 400, json: { ok: false, error: "the X-GitHub-Event header is missing or malformed" } });
      }
    }
  });

  it("route variants named like Object.prototype properties are 404 {}", async () => {
    for (const name of PROTOTYPE_NAMES) expect(await post(`/${name}`, '{"text":"x"}'), name).toMatchObject({ status: 404, text: "{}" });
  });

  it("JSON keys named like Object.prototype properties are kept as data", async () => {
    const body = `{${PROTOTYPE_NAMES.map((n) => `"${n}":"v-${n}"`).join(",")}}`;
    const event = await posted(body);
    expect(event.content[RAW_PAYLOAD_KEY]).toEqual(JSON.parse(body));
    for (const n of PROTOTYPE_NAMES) expect(String(event.content.body)).toContain(`"v-${n}"`);
  });
});

describe("Slack-style forms on the generic route", () => {
  it("reads a payload= form with Slack's link syntax and mrkdwn, as /slack does", async () => {
    const form = `payload=${encodeURIComponent(JSON.stringify({ text: "see *this*: <https://example.org/f|a form link>" }))}`;
    const event = await posted(form, "", { "content-type": "application/x-www-form-urlencoded" });
    expect(event.content).toMatchObject({
      body: "see *this*: a form link (https://example.org/f)",
      formatted_body: 'see <strong>this</strong>: <a href="https://example.org/f">a form link</a>',
    });
  });
});

describe("the homeserver's answers, as the sender gets them", () => {
  it("a room that bans the hook's user is 403 with the reason, not 502", async () => {
    const first = await posted('{"text":"before the ban"}');
    await admin.request("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/ban`, { user_id: first.sender, reason: "test" });
    const res = await post("", '{"text":"after the ban"}');
    expect(res, res.text).toMatchObject({ status: 403, json: { ok: false, error: expect.stringMatching(/^the room does not let this hook post \(M_FORBIDDEN/) } });
    await admin.request("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/unban`, { user_id: first.sender });
  });

  // The bridge never sends such content now; to see Synapse's real answers reach the sender's
  // status, a poster over the real Matrix port sends it as it is.
  let poster: InboundPoster;
  let hook: ActiveInboundHook;
  const failure = async (content: Record<string, unknown> | string) => {
    try {
      await poster.post(hook, content as Record<string, unknown>);
    } catch (err) {
      return homeserverAnswer(err);
    }
    throw new Error("the homeserver took it");
  };

  beforeAll(async () => {
    const { url: hsUrl, serverName, registrationPath } = inject("synapse");
    const matrix = new AppserviceMatrix({ homeserverUrl: hsUrl, domain: serverName, registration: await loadRegistration(registrationPath) });
    await matrix.start();
    poster = new InboundPoster(matrix);
    hook = { id: `ih_${randomBytes(8).toString("hex")}`, roomId, name: "probe", avatar: null, msgtype: "m.notice", expiresAt: null, permissions: DEFAULT_INBOUND_PERMISSIONS };
    await poster.post(hook, { msgtype: "m.notice", body: "probe ready" });
  });

  it("a content refusal is 400 with the homeserver's reason", async () => {
    const answer = await failure({ msgtype: "m.notice", body: "x", score: 3.14 });
    expect([answer.status, answer.reason]).toEqual([400, expect.stringMatching(/^the homeserver refused the message \(M_BAD_JSON: .+\)$/)]);
  });

  it("an event too large is 413", async () => {
    const answer = await failure({ msgtype: "m.notice", body: "x".repeat(70_000) });
    expect([answer.status, answer.reason]).toEqual([413, expect.stringMatching(/M_TOO_LARGE/)]);
  });

  it("an unreachable homeserver is 502", async () => {
    const { serverName, registrationPath } = inject("synapse");
    const down = new AppserviceMatrix({ homeserverUrl: "http://127.0.0.1:9", domain: serverName, registration: await loadRegistration(registrationPath) });
    await down.start();
    const answer = await new InboundPoster(down).post(hook, { msgtype: "m.notice", body: "x" }).then(() => null, homeserverAnswer);
    expect(answer?.status).toBe(502);
  });
});
