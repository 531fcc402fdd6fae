// Webhook bots (Zulip's outgoing webhook bots) on a real Synapse, against a real receiver that
// behaves like a Zulip bot: it checks the token in the JSON body and answers {"content": …}.
// A bot's ghost joins when added; a mention (pill, m.mentions, name first) or a DM fires it; its
// answer is posted by its ghost where the message was; rooms its ghost is not in never fire it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, secretFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let admin: TestClient;
let adminId: string;
let roomId: string;
let zulipBot: Receiver;
let token = "";
let ghost = "";
const adminDm = new Set<string>();
let bob: TestClient;
let dmRoom: string;

interface ZulipRequest {
  bot_email: string;
  bot_full_name: string;
  data: string;
  token: string;
  trigger: string;
  message: { type: string; content: string; sender_email: string; matrix_event: { event_id: string; room_id: string } };
}

beforeAll(async () => {
  bridge = await startBridge();
  const registered = await registerUser(uniqueName("botadmin"));
  admin = registered.client;
  adminId = registered.userId;
  roomId = await roomWithBot(admin, bridge.botUserId, { name: "Bots" });
  zulipBot = await Receiver.start();
  // A Zulip bot: refuses a wrong token, answers what it was asked and how it was reached.
  zulipBot.respondWith((req) => {
    const body = JSON.parse(req.body.toString("utf8")) as ZulipRequest;
    if (body.token !== token) return { status: 401, body: "bad token" };
    return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ content: `**${body.trigger}**: you said "${body.data}"` }) };
  });
});

afterAll(async () => {
  await bridge?.stop();
  await zulipBot?.stop();
});

const zulipRequests = (filter: (b: ZulipRequest) => boolean = () => true) => zulipBot.json<ZulipRequest>(filter).map((r) => r.body);
const forMatrixEvent = (eventId: string) => (req: ReceivedRequest) => {
  try {
    return (JSON.parse(req.body.toString("utf8")) as ZulipRequest).message.matrix_event.event_id === eventId;
  } catch {
    return false;
  }
};
const byGhost = (match: RegExp) => (e: MatrixEvent) => e.sender === ghost && e.type === "m.room.message" && match.test(String(e.content.body));

async function queueDrained(): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const health = (await (await fetch(`${bridge.url}/health`)).json()) as { queueDepth: number };
    if (health.queueDepth === 0) return;
    if (Date.now() > deadline) throw new Error(`the queue still holds ${health.queueDepth} deliveries`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("webhook bots (Zulip model)", () => {
  it("bot add: the bot is room state, its ghost joins under the bot's name, its token comes by DM", async () => {
    await admin.sendMessage(roomId, `!hooks bot add helper ${zulipBot.url}/zulip`);
    await botNotice(admin, roomId, bridge.botUserId, /Webhook bot "helper" added: mentions and direct messages go as zulip by POST/);
    token = await secretFromDm(admin, bridge.botUserId, 'Token for webhook bot "helper"', adminDm);
    expect(await admin.getStateEvent(roomId, "dev.matrix-webhook-bridge.bot", "helper")).toEqual({ name: "helper", url: `${zulipBot.url}/zulip`, format: "zulip", method: "POST" });
    const joined = await admin.waitForEvent(roomId, (e) => e.type === "m.room.member" && String(e.state_key).startsWith("@webhook_bt_") && e.content.membership === "join", { timeoutMs: 15_000 });
    ghost = String(joined.state_key);
    expect((await admin.getJoinedMembers(roomId))[ghost]?.display_name).toBe("helper");
    await admin.sendMessage(roomId, "!hooks bot list");
    await botNotice(admin, roomId, bridge.botUserId, /Webhook bots in this room:\n- helper: mentions and direct messages go as zulip/);
  });

  it("a mention fires it with trigger mention, and its ghost posts the answer in the room; other messages do not fire it", async () => {
    const plain = await admin.sendMessage(roomId, "just chatting, nobody is asked");
    const mention = await admin.sendMessage(roomId, {
      msgtype: "m.text",
      body: "helper: what is the build status?",
      format: "org.matrix.custom.html",
      formatted_body: `<a href="https://matrix.to/#/${ghost}">helper</a>: what is the build status?`,
      "m.mentions": { user_ids: [ghost] },
    });
    await zulipBot.waitFor(forMatrixEvent(mention));
    const [request] = zulipRequests((b) => b.message.matrix_event.event_id === mention);
    expect(request).toMatchObject({ trigger: "mention", token, bot_email: ghost, bot_full_name: "helper", data: "helper: what is the build status?", message: { type: "stream", sender_email: adminId } });
    const answer = await admin.waitForEvent(roomId, byGhost(/^\*\*mention\*\*: you said "helper: what is the build status\?"/), { timeoutMs: 15_000 });
    expect(answer.content.formatted_body).toContain("<strong>mention</strong>");
    // By name alone, at the start of the message.
    const named = await admin.sendMessage(roomId, "@helper status please");
    await zulipBot.waitFor(forMatrixEvent(named));
    await queueDrained();
    expect(zulipRequests((b) => b.message.matrix_event.event_id === plain)).toEqual([]);
    // Its deliveries are an outbound hook's: status as for hooks.
    await admin.sendMessage(roomId, "!hooks bot status helper");
    await botNotice(admin, roomId, bridge.botUserId, /^Webhook bot "helper": active\. POST .*\nWaiting: 0\. Dead letters: 0\. Delivered \(kept for status\): 2\./);
  });

  it("a DM (a user creates a room and invites the ghost) fires it with trigger direct_message; the answer lands in the DM", async () => {
    bob = (await registerUser(uniqueName("bob"))).client;
    dmRoom = await bob.createRoom({ preset: "trusted_private_chat", isDirect: true, invite: [ghost] });
    await bob.waitForEvent(dmRoom, (e) => e.type === "m.room.member" && e.state_key === ghost && e.content.membership === "join", { timeoutMs: 15_000 });
    const question = await bob.sendMessage(dmRoom, "what is the weather like?");
    await zulipBot.waitFor(forMatrixEvent(question));
    const [request] = zulipRequests((b) => b.message.matrix_event.event_id === question);
    expect(request).toMatchObject({ trigger: "direct_message", token, bot_email: ghost, message: { type: "private", matrix_event: { room_id: dmRoom } } });
    await bob.waitForEvent(dmRoom, byGhost(/^\*\*direct_message\*\*: you said "what is the weather like\?"/), { timeoutMs: 15_000 });
  });

  it("the DM keeps working after a restart (the bridge bot is not in it: the ghost's rooms are loaded at start)", async () => {
    await bridge.stop();
    bridge = await startBridge({}, bridge.storePath);
    const again = await bob.sendMessage(dmRoom, "and tomorrow?");
    await zulipBot.waitFor(forMatrixEvent(again));
    expect(zulipRequests((b) => b.message.matrix_event.event_id === again)).toMatchObject([{ trigger: "direct_message", message: { type: "private" } }]);
    await bob.waitForEvent(dmRoom, byGhost(/^\*\*direct_message\*\*: you said "and tomorrow\?"/), { timeoutMs: 15_000 });
  });

  it("a message naming the bot between two other users, in a room the ghost is not in (the bridge bot is), does not fire it", async () => {
    const carol = (await registerUser(uniqueName("carol"))).client;
    const dave = await registerUser(uniqueName("dave"));
    const theirRoom = await roomWithBot(carol, bridge.botUserId, { invite: [dave.userId] });
    await dave.client.join(theirRoom);
    // A plain hook in their room shows when the bridge has handled the message.
    const everyEvent = await Receiver.start();
    try {
      await carol.sendMessage(theirRoom, `!hooks outbound add all ${everyEvent.url}/all`);
      await botNotice(carol, theirRoom, bridge.botUserId, /Outbound hook "all" added/);
      const naming = await dave.client.sendMessage(theirRoom, {
        msgtype: "m.text",
        body: "helper: can you hear me?",
        format: "org.matrix.custom.html",
        formatted_body: `<a href="https://matrix.to/#/${ghost}">helper</a>: can you hear me?`,
        "m.mentions": { user_ids: [ghost] },
      });
      await everyEvent.waitFor((req) => req.headers["x-matrix-hookshot-eventid"] === naming);
      await queueDrained();
      expect(zulipRequests((b) => b.message.matrix_event.event_id === naming)).toEqual([]);
    } finally {
      await everyEvent.stop();
    }
  });

  it("a slack-format bot declines a DM invite, saying why", async () => {
    await admin.sendMessage(roomId, `!hooks bot add slacky ${zulipBot.url}/slack --format slack`);
    await botNotice(admin, roomId, bridge.botUserId, /Webhook bot "slacky" added: mentions \(not direct messages/);
    const slackGhost = String((await admin.waitForEvent(roomId, (e) => e.type === "m.room.member" && String(e.state_key).startsWith("@webhook_bt_") && e.state_key !== ghost && e.content.membership === "join", { timeoutMs: 15_000 })).state_key);
    const erin = (await registerUser(uniqueName("erin"))).client;
    const dmRoom = await erin.createRoom({ preset: "trusted_private_chat", isDirect: true, invite: [slackGhost] });
    const declined = await erin.waitForEvent(dmRoom, (e) => e.type === "m.room.member" && e.state_key === slackGhost && e.content.membership === "leave", { timeoutMs: 15_000 });
    expect(declined.content.reason).toMatch(/slack format, which does not answer direct messages/);
  });

  it("bot remove: its ghost leaves and its state is emptied", async () => {
    await admin.sendMessage(roomId, "!hooks bot remove helper");
    await botNotice(admin, roomId, bridge.botUserId, /Webhook bot "helper" removed/);
    await admin.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === ghost && e.content.membership === "leave", { timeoutMs: 15_000 });
    expect(await admin.getStateEvent(roomId, "dev.matrix-webhook-bridge.bot", "helper")).toEqual({});
    await admin.sendMessage(roomId, "!hooks bot list");
    await botNotice(admin, roomId, bridge.botUserId, /Webhook bots in this room:\n- slacky/);
  });
});
