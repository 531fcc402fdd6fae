// Chat-platform outgoing webhooks on a real Synapse: trigger words, filters, several URLs, the
// Slack / Mattermost / Zulip request formats, and replies posted once by the hook's own user.
// The receivers behave like those platforms' integrations: they check the token in the body and
// answer with a reply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { BUILD_REPORT } from "../src/outbound/formats/chat/chat-test-fixtures.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let receiver: Receiver;
let admin: TestClient;
const dm = new Set<string>();
const tokens = new Map<string, string>();
/** Per path: how the receiver answers a request whose token is right. */
const answers = new Map<string, (req: ReceivedRequest, nth: number) => { status?: number; body?: unknown; delayMs?: number }>();

beforeAll(async () => {
  bridge = await startBridge({ delivery: { timeoutSeconds: 2, retrySchedule: [0.3, 0.6], retries: 4 }, replies: { maxParts: 3 } });
  receiver = await Receiver.start();
  receiver.respondWith((req) => {
    const path = req.path.split("?")[0]!;
    const name = path.split("/")[1]!;
    if (tokenIn(req) !== tokens.get(name)) return { status: 401, body: "bad token" };
    const nth = receiver.requests.filter((r) => r.path === req.path).length;
    const answer = answers.get(path)?.(req, nth) ?? { body: { response_not_required: true } };
    const body = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return { status: answer.status ?? 200, body, headers: { "content-type": "application/json" }, ...(answer.delayMs ? { delayMs: answer.delayMs } : {}) };
  });
  admin = (await registerUser(uniqueName("admin"))).client;
});

afterAll(async () => {
  await bridge?.stop();
  await receiver?.stop();
});

/** The token a chat integration finds in the body: a form field or a JSON key. */
function tokenIn(req: ReceivedRequest): string | null {
  const text = req.body.toString("utf8");
  if (String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) return new URLSearchParams(text).get("token");
  try {
    return (JSON.parse(text) as { token?: string }).token ?? null;
  } catch {
    return null;
  }
}

const form = (req: ReceivedRequest) => Object.fromEntries(new URLSearchParams(req.body.toString("utf8")));
const json = (req: ReceivedRequest) => JSON.parse(req.body.toString("utf8")) as Record<string, any>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const onPath = (path: string) => (r: ReceivedRequest) => r.path === path;

/** A room with the bot, and a hook added by command; the hook's token is kept for the receiver. */
async function roomWithHook(name: string, options: string, url = `${receiver.url}/${name}`): Promise<string> {
  const roomId = await roomWithBot(admin, bridge.botUserId, { name: `room ${name}` });
  await admin.sendMessage(roomId, `!hooks outbound add ${name} ${url} ${options}`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Outbound hook "${name}" added`));
  tokens.set(name, await tokenFromDm(admin, bridge.botUserId, name, dm));
  return roomId;
}

const fromGhost = (e: MatrixEvent) => e.type === "m.room.message" && /^@webhook_/.test(e.sender);

async function replies(roomId: string, count: number, timeoutMs = 15_000): Promise<MatrixEvent[]> {
  const deadline = Date.now() + timeoutMs;
  let found: MatrixEvent[] = [];
  while (Date.now() < deadline) {
    found = (await admin.messages(roomId, { limit: 100, dir: "b" })).chunk.filter(fromGhost).reverse();
    if (found.length >= count) return found;
    await sleep(200);
  }
  throw new Error(`expected ${count} replies in ${roomId}, found ${found.length}`);
}

/** The replies once things have settled: none may come after the expected ones. */
async function settledReplies(roomId: string, count: number): Promise<MatrixEvent[]> {
  await replies(roomId, count);
  await sleep(1500);
  return replies(roomId, count);
}

describe("slack format", () => {
  it("fires on the first-word trigger only, sends Slack's form with the hook's token, and posts the reply once with links and mrkdwn", async () => {
    const roomId = await roomWithHook("slackci", '--format slack --trigger "#build,#deploy"');
    answers.set("/slackci", (req) => ({ body: { text: `Build *ok* for ${form(req).user_name}: <https://ci.example/1|details> and <https://ci.example/raw>` } }));
    await admin.sendMessage(roomId, "no trigger here #build");
    await admin.sendMessage(roomId, "#builds are not a trigger word");
    const eventId = await admin.sendMessage(roomId, "#build Let's see the status");
    const [request] = await receiver.waitFor(onPath("/slackci"));
    const fields = form(request!);
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.keys(fields).sort()).toEqual(
      ["channel_id", "channel_name", "team_domain", "team_id", "text", "thread_ts", "timestamp", "token", "trigger_word", "user_id", "user_name", "service_id"].sort(),
    );
    expect(fields).toMatchObject({ token: tokens.get("slackci"), channel_id: roomId, user_id: admin.userId, text: "#build Let's see the status", trigger_word: "#build", thread_ts: "" });
    expect(fields.timestamp).toMatch(/^\d{10}\.\d{6}$/);

    const [reply] = await settledReplies(roomId, 1);
    expect(reply!.content.body).toContain("details (https://ci.example/1)");
    expect(reply!.content.formatted_body).toContain("<strong>ok</strong>");
    expect(reply!.content.formatted_body).toContain('<a href="https://ci.example/1">details</a>');
    expect(reply!.content.formatted_body).toContain('<a href="https://ci.example/raw">');
    // Not threaded: the trigger was not in a thread.
    expect(reply!.content["m.relates_to"]).toBeUndefined();
    expect(receiver.requests.filter(onPath("/slackci"))).toHaveLength(1);
    expect(eventId).toMatch(/^\$/);
  });

  it("ignores a reply's username and icon_url unless config allows overrides", async () => {
    const roomId = await roomWithHook("slacknamed", '--format slack --trigger "!ask"');
    answers.set("/slacknamed", () => ({ body: { text: "I am not a robot", username: "robot", icon_url: "https://example.org/robot.png" } }));
    await admin.sendMessage(roomId, "!ask who are you");
    const [reply] = await settledReplies(roomId, 1);
    expect(reply!.content.body).toBe("I am not a robot");
    expect(reply!.content["com.beeper.per_message_profile"]).toBeUndefined();
  });
});

describe("mattermost format", () => {
  it("starts_with trigger, JSON with milliseconds, Accept header; a comment reply answers in a thread and the seed's build table renders as a table", async () => {
    const roomId = await roomWithHook("mmjson", "--format mattermost --content-type json --trigger #bu --trigger-when starts_with");
    const table = BUILD_REPORT; // the seed's build report
    answers.set("/mmjson", () => ({ body: { text: table, response_type: "comment" } }));
    await admin.sendMessage(roomId, "x #build is not first");
    const eventId = await admin.sendMessage(roomId, "#build Let's see the status");
    const [request] = await receiver.waitFor(onPath("/mmjson"));
    expect(request!.headers["content-type"]).toMatch(/^application\/json/);
    expect(request!.headers.accept).toBe("application/json");
    const body = json(request!);
    expect(body).toMatchObject({ token: tokens.get("mmjson"), channel_id: roomId, post_id: eventId, trigger_word: "#bu", user_id: admin.userId, text: "#build Let's see the status" });
    expect(String(body.timestamp)).toMatch(/^\d{13}$/);

    const [reply] = await settledReplies(roomId, 1);
    expect(reply!.content["m.relates_to"]).toMatchObject({ rel_type: "m.thread", event_id: eventId });
    const html = String(reply!.content.formatted_body);
    expect(html).toContain("<table>");
    expect(html).toMatch(/<th[^>]*>Component<\/th>/);
    expect(html).toMatch(/<td[^>]*>948<\/td>/);
    expect(html).toContain('<a href="http://linktologs">2 (see details)</a>');
    expect(html).toMatch(/<h5>Build Break/);
  });

  it("a form hook sends seconds; a long reply is split in order, up to the cap with a marker", async () => {
    const roomId = await roomWithHook("mmform", "--format mattermost --trigger report");
    const lines = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`);
    answers.set("/mmform", () => ({ body: { text: lines.join("\n") } }));
    await admin.sendMessage(roomId, "report all");
    const [request] = await receiver.waitFor(onPath("/mmform"));
    expect(request!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(form(request!).timestamp).toMatch(/^\d{10}$/);
    // ~20,000 characters: 5 messages of 4,000 needed, the config caps at 3.
    const parts = await settledReplies(roomId, 3);
    expect(parts).toHaveLength(3);
    const bodies = parts.map((p) => String(p.content.body));
    expect(bodies[0]).toMatch(/^line 000/);
    for (const b of bodies.slice(0, 2)) expect(b.length).toBeLessThanOrEqual(4000);
    const firstOf = (b: string) => Number(/line (\d{3})/.exec(b)![1]);
    expect(firstOf(bodies[1]!)).toBeGreaterThan(firstOf(bodies[0]!));
    expect(firstOf(bodies[2]!)).toBeGreaterThan(firstOf(bodies[1]!));
    expect(bodies[2]).toMatch(/cut/);
  });

  it("a malformed reply posts nothing, the room is told once, and the delivery counts as delivered", async () => {
    const roomId = await roomWithHook("mmbad", "--format mattermost");
    answers.set("/mmbad", () => ({ body: "this is not JSON {" }));
    await admin.sendMessage(roomId, "first");
    await admin.sendMessage(roomId, "second");
    await receiver.waitFor(onPath("/mmbad"), 2);
    await botNotice(admin, roomId, bridge.botUserId, /"mmbad" got a reply it could not use/);
    await sleep(1000);
    const messages = (await admin.messages(roomId, { limit: 100 })).chunk;
    expect(messages.filter(fromGhost)).toHaveLength(0);
    expect(messages.filter((e) => e.sender === bridge.botUserId && /could not use/.test(String(e.content.body)))).toHaveLength(1);
    await admin.sendMessage(roomId, "!hooks outbound status mmbad");
    const status = await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "mmbad": active/);
    expect(status.content.body).toMatch(/Delivered \(kept for status\): 2\./);
  });
});

describe("zulip format", () => {
  it("sends Zulip's JSON with the Matrix event beside it, and answers a message in a thread in that thread", async () => {
    const roomId = await roomWithHook("zulipbot", "--format zulip --msgtypes m.text");
    answers.set("/zulipbot", (req) => (json(req).message?.content === "in the thread" ? { body: { content: "**pong** from `zulip`" } } : { body: { response_not_required: true } }));
    const rootId = await admin.sendMessage(roomId, "thread root");
    const inThread = await admin.sendMessage(roomId, { msgtype: "m.text", body: "in the thread", "m.relates_to": { rel_type: "m.thread", event_id: rootId, is_falling_back: true, "m.in_reply_to": { event_id: rootId } } });
    const [, request] = await receiver.waitFor(onPath("/zulipbot"), 2);
    expect(String(request!.headers["user-agent"])).toMatch(/^ZulipOutgoingWebhook\/\S+ matrix-webhook-bridge\//);
    const body = json(request!);
    expect(Object.keys(body)).toEqual(expect.arrayContaining(["bot_email", "bot_full_name", "data", "message", "token", "trigger"]));
    expect(body.token).toBe(tokens.get("zulipbot"));
    expect(body.data).toBe("in the thread");
    expect(body.message).toMatchObject({ content: "in the thread", sender_email: admin.userId, type: "stream" });
    expect(Number.isSafeInteger(body.message.id)).toBe(true);
    expect(Number.isSafeInteger(body.message.timestamp)).toBe(true);
    expect(body.message.matrix_event).toMatchObject({ event_id: inThread, room_id: roomId });

    const [reply] = await settledReplies(roomId, 1);
    expect(reply!.content["m.relates_to"]).toMatchObject({ rel_type: "m.thread", event_id: rootId });
    expect(reply!.content.formatted_body).toContain("<strong>pong</strong>");
    expect(reply!.content.formatted_body).toContain("<code>zulip</code>");
  });
});

describe("filters and several URLs", () => {
  it("a msgtype filter takes only its msgtypes; each URL is delivered and retried on its own, and each answer is posted", async () => {
    tokens.set("second", "unused");
    const roomId = await roomWithHook("multi", `--format slack --msgtypes m.emote --urls ${receiver.url}/multi,${receiver.url}/second`);
    tokens.set("second", tokens.get("multi")!);
    answers.set("/multi", () => ({ body: { text: "first URL answered" } }));
    answers.set("/second", (_req, nth) => (nth === 1 ? { status: 503 } : { body: { text: "second URL answered" } }));
    await admin.sendMessage(roomId, "a text message is filtered out");
    await admin.sendMessage(roomId, { msgtype: "m.emote", body: "waves" });
    await receiver.waitFor(onPath("/second"), 2);
    expect(receiver.requests.filter(onPath("/multi"))).toHaveLength(1);
    expect(form(receiver.requests.find(onPath("/multi"))!).text).toBe("waves");
    const posted = await settledReplies(roomId, 2);
    expect(posted.map((p) => p.content.body).sort()).toEqual(["first URL answered", "second URL answered"]);
  });
});

describe("a reply is posted once", () => {
  it("when the first attempt's answer is lost (timeout) and the delivery is retried", async () => {
    const roomId = await roomWithHook("slow", "--format slack --trigger ping");
    // The first answer comes after the bridge gave up on it (timeout 2 s); the retry's answer arrives.
    answers.set("/slow", (_req, nth) => ({ body: { text: `pong ${nth}` }, ...(nth === 1 ? { delayMs: 3000 } : {}) }));
    await admin.sendMessage(roomId, "ping");
    const attempts = await receiver.waitFor(onPath("/slow"), 2);
    expect(attempts[1]!.headers["webhook-id"]).toBe(attempts[0]!.headers["webhook-id"]);
    await sleep(2500); // the first answer has come and gone
    const posted = await settledReplies(roomId, 1);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.content.body).toBe("pong 2");
  });
});
