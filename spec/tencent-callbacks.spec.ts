// Tencent Chat callbacks through the bridge on a real Synapse, to real receivers on 127.0.0.1:
// after-event callbacks (membership, room info, messages, recalls: command words, query, Sign,
// fields), no retries unless asked, answers that are not Tencent's, and the hook commands. The
// before-hooks' fallback (no Synapse module) is in tencent-before-fallback.spec.ts.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { TestClient } from "../src/demo/test-client.js";
import { msgSeqOf } from "../src/outbound/formats/tencent/index.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";
import { signedWith, TencentHookReceiver, textBody, type TencentCall } from "./tencent-hook-receiver.js";

let bridge: BridgeUnderTest;
let tencent: TencentHookReceiver;
let admin: TestClient;
let publicUrl: string;
const dm = new Set<string>();
const tokens = new Map<string, string>();

beforeAll(async () => {
  publicUrl = `http://127.0.0.1:${inject("synapse").bridgePort}`;
  // Media links (FaceUrl) need the public URL; every failed attempt is told, so one event is enough.
  bridge = await startBridge({ bridge: { publicUrl }, delivery: { failureNoticeAfterAttempts: 1 } });
  tencent = await TencentHookReceiver.start();
  admin = (await registerUser(uniqueName("admin"))).client;
});

afterAll(async () => {
  await bridge?.stop();
  await tencent?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

async function addHook(roomId: string, name: string, options: string): Promise<void> {
  await admin.sendMessage(roomId, `!hooks outbound add ${name} ${tencent.urlFor(name)} ${options}`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Outbound hook "${name}" added`));
  tokens.set(name, await tokenFromDm(admin, bridge.botUserId, name, dm));
}

/** The bot's answer to a command: its first notice after the command that matches (bounded wait). */
async function command(roomId: string, text: string, answer: RegExp, timeoutMs = 10_000): Promise<string> {
  const sent = await admin.sendMessage(roomId, text);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const newestFirst = (await admin.messages(roomId, { limit: 100 })).chunk;
    const later = newestFirst.slice(0, Math.max(0, newestFirst.findIndex((e) => e.event_id === sent))).reverse();
    const hit = later.find((e) => e.sender === bridge.botUserId && e.content.msgtype === "m.notice" && answer.test(String(e.content.body)));
    if (hit) return String(hit.content.body);
    if (Date.now() > deadline) throw new Error(`no answer matching ${answer} to "${text}"; the bot said: ${later.filter((e) => e.sender === bridge.botUserId).map((e) => String(e.content.body)).join(" | ") || "nothing"}`);
    await sleep(200);
  }
}

/** Everything Tencent puts in every callback's query and body, checked against the hook's token. */
function expectTencentEnvelope(call: TencentCall, roomId: string, sdkAppId: string, token: string): void {
  expect(call.req.method).toBe("POST");
  expect(call.req.headers["content-type"]).toMatch(/^application\/json/);
  expect(call.query.get("tenant")).toBe("spec");
  expect(call.query.get("SdkAppid")).toBe(sdkAppId);
  expect(call.query.get("CallbackCommand")).toBe(call.command);
  expect(call.query.get("contenttype")).toBe("json");
  expect(call.query.has("ClientIP")).toBe(true);
  expect(["RESTAPI", "Unknown"]).toContain(call.query.get("OptPlatform"));
  expect(call.query.get("RequestTime")).toMatch(/^\d{10}$/);
  expect(Math.abs(Number(call.query.get("RequestTime")) - Date.now() / 1000)).toBeLessThan(60);
  expect(call.query.get("Sign")).toMatch(/^[0-9a-f]{64}$/);
  expect(signedWith(call, token)).toBe(true);
  expect(signedWith(call, `${token}x`)).toBe(false);
  expect(call.body.GroupId).toBe(roomId);
  expect(call.body.Type).toBe("Public");
  expect(call.event.room_id).toBe(roomId);
  expect(Number.isSafeInteger(call.body.EventTime)).toBe(true);
  expect(call.body.EventTime).toBe(call.event.origin_server_ts);
}

describe("after-event callbacks", () => {
  it("send membership, room info, messages and recalls as Tencent's command words, signed; a hook with one command word gets only those", async () => {
    const roomId = await roomWithBot(admin, bridge.botUserId, { name: "tencent after" });
    await addHook(roomId, "follow", "--format tencent --sdk-app-id 1400000001");
    await addHook(roomId, "joins", "--format tencent --commands Group.CallbackAfterNewMemberJoin");
    await admin.sendStateEvent(roomId, "m.room.join_rules", "", { join_rule: "public" });
    const bob = await registerUser(uniqueName("bob"));
    const isBob = (c: TencentCall) => c.event.state_key === bob.userId;

    // Joins by itself, renames itself, leaves; is invited, joins again, is kicked.
    await bob.client.join(roomId);
    const [applied] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterNewMemberJoin" && isBob(c));
    await bob.client.sendStateEvent(roomId, "m.room.member", bob.userId, { membership: "join", displayname: "Bobby Tables" });
    const [renamed] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterMemberFieldChanged" && isBob(c));
    await bob.client.leave(roomId);
    const [quit] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterMemberExit" && isBob(c));
    await admin.invite(roomId, bob.userId);
    await bob.client.join(roomId);
    const [invited] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterNewMemberJoin" && isBob(c) && c.body.JoinType === "Invited");
    await admin.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: bob.userId, reason: "spec" });
    const [kicked] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterMemberExit" && isBob(c) && c.body.ExitType === "Kicked");

    expect(applied!.body).toMatchObject({ JoinType: "Apply", Operator_Account: bob.userId, NewMemberList: [{ Member_Account: bob.userId }] });
    expect(applied!.event).toMatchObject({ type: "m.room.member", content: { membership: "join" } });
    expect(renamed!.body).toMatchObject({ Operator_Account: bob.userId, Member_Account: bob.userId, NameCard: "Bobby Tables" });
    expect(quit!.body).toMatchObject({ ExitType: "Quit", Operator_Account: bob.userId, ExitMemberList: [{ Member_Account: bob.userId }] });
    expect(invited!.body).toMatchObject({ JoinType: "Invited", Operator_Account: admin.userId, NewMemberList: [{ Member_Account: bob.userId }] });
    expect(kicked!.body).toMatchObject({ ExitType: "Kicked", Operator_Account: admin.userId, ExitMemberList: [{ Member_Account: bob.userId }] });

    // Room name, topic, avatar: each its own Group.CallbackAfterGroupInfoChanged with only what changed.
    const avatarBytes = Buffer.from("not really a png, but bytes the receiver can fetch");
    const avatar = await admin.uploadMedia(avatarBytes, "image/png", "town.png");
    const nameId = await admin.sendStateEvent(roomId, "m.room.name", "", { name: "Town square" });
    const topicId = await admin.sendStateEvent(roomId, "m.room.topic", "", { topic: "All about town" });
    const avatarId = await admin.sendStateEvent(roomId, "m.room.avatar", "", { url: avatar });
    const info = (id: string) => tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterGroupInfoChanged" && c.event.event_id === id).then((c) => c[0]!);
    const [named, topical, pictured] = [await info(nameId), await info(topicId), await info(avatarId)];
    expect(named.body).toMatchObject({ Operator_Account: admin.userId, Name: "Town square" });
    expect(named.body).not.toHaveProperty("Introduction");
    expect(topical.body).toMatchObject({ Operator_Account: admin.userId, Introduction: "All about town" });
    expect(topical.body).not.toHaveProperty("Name");
    expect(pictured.body.Operator_Account).toBe(admin.userId);
    // The media-link route serves a message's or sticker's file only, so an avatar gets no link
    // (rather than one that answers 404); the mxc:// URI is in the Matrix event.
    expect(pictured.body.FaceUrl).toBe("");
    expect(pictured.event.content.url).toBe(avatar);

    // An image: TIMImageElem whose URL is a link to the bridge that serves the file.
    const imageId = await admin.sendMessage(roomId, { msgtype: "m.image", body: "town.png", url: avatar, info: { mimetype: "image/png", size: avatarBytes.length, w: 4, h: 3 } });
    const [image] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterSendMsg" && c.event.event_id === imageId);
    const [element] = image!.body.MsgBody;
    expect(element).toMatchObject({ MsgType: "TIMImageElem", MsgContent: { UUID: avatar, ImageFormat: 3 } });
    const original = element.MsgContent.ImageInfoArray[0];
    expect(original).toMatchObject({ Type: 1, Size: avatarBytes.length, Width: 4, Height: 3 });
    expect(String(original.URL).startsWith(`${publicUrl}/`)).toBe(true);
    const fetched = await fetch(original.URL, { signal: AbortSignal.timeout(10_000) });
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(avatarBytes)).toBe(true);

    // A message, then its redaction: Group.CallbackAfterSendMsg, then Group.CallbackAfterRecallMsg naming its MsgSeq.
    const messageId = await admin.sendMessage(roomId, "hello from the town square");
    const [sent] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterSendMsg" && c.event.event_id === messageId);
    const redactionId = await admin.redact(roomId, messageId, "typo");
    const [recalled] = await tencent.waitFor("follow", (c) => c.command === "Group.CallbackAfterRecallMsg" && c.event.event_id === redactionId);
    expect(sent!.body).toMatchObject({ From_Account: admin.userId, Operator_Account: admin.userId, OnlineOnlyFlag: 0, MsgBody: textBody("hello from the town square") });
    expect(sent!.body.MsgSeq).toBe(msgSeqOf(messageId));
    expect(sent!.body.MsgTime).toBe(Math.floor(sent!.event.origin_server_ts / 1000));
    expect(Number.isSafeInteger(sent!.body.Random)).toBe(true);
    expect(sent!.event).toMatchObject({ type: "m.room.message", sender: admin.userId, content: { msgtype: "m.text", body: "hello from the town square" } });
    expect(recalled!.body).toMatchObject({ Operator_Account: admin.userId, MsgSeqList: [{ MsgSeq: msgSeqOf(messageId) }] });
    expect(recalled!.event.type).toBe("m.room.redaction");

    for (const call of [applied, renamed, quit, invited, kicked, named, topical, pictured, image, sent, recalled]) {
      expectTencentEnvelope(call!, roomId, "1400000001", tokens.get("follow")!);
    }
    // The bridge's own events (its notices, the hook state it wrote) are never sent.
    expect(tencent.calls("follow", (c) => c.event.sender === bridge.botUserId)).toEqual([]);

    // "joins" takes Group.CallbackAfterNewMemberJoin only: the two joins, nothing else, SdkAppid 0 by default.
    const joins = await tencent.waitFor("joins", () => true, 2);
    await sleep(1000);
    expect(tencent.calls("joins").map((c) => `${c.command} ${c.body.JoinType}`)).toEqual(["Group.CallbackAfterNewMemberJoin Apply", "Group.CallbackAfterNewMemberJoin Invited"]);
    for (const call of joins) expectTencentEnvelope(call, roomId, "0", tokens.get("joins")!);
  });
});

describe("after-event answers and retries", () => {
  it("are not retried by default (the status shows the failure); with retry on, a failed call is retried and delivered", async () => {
    const roomId = await roomWithBot(admin, bridge.botUserId, { name: "tencent retries" });
    await addHook(roomId, "flaky", "--format tencent --commands Group.CallbackAfterSendMsg");
    // The first call for each "flaky" message fails with a 500; any later one gets Tencent's OK.
    tencent.answer("flaky", (call, nth) => (String(call.event.content.body).startsWith("flaky") && nth === 1 ? { status: 500, body: "oops" } : {}));

    const once = await admin.sendMessage(roomId, "flaky once");
    await tencent.waitFor("flaky", (c) => c.event.event_id === once);
    await sleep(2500); // the bridge's retry schedule is 0.3 s, 0.9 s, 1.5 s: a retry would have come
    expect(tencent.calls("flaky", (c) => c.event.event_id === once)).toHaveLength(1);
    const status = await command(roomId, "!hooks outbound status flaky", /^Outbound hook "flaky": /);
    const onceRe = once.replace(/[$.]/g, "\\$&");
    expect(status).toMatch(new RegExp(`${onceRe} attempt 1: failed, HTTP 500`));
    expect(status).not.toMatch(new RegExp(`${onceRe} attempt 2`));
    expect(status).toMatch(/Dead letters: 1\./);

    const changed = await command(roomId, "!hooks outbound set flaky retry on", /^Outbound hook "flaky" changed/);
    expect(changed).toMatch(/; retried\)/);
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "flaky")).toMatchObject({ retry: true });
    const retried = await admin.sendMessage(roomId, "flaky but retried");
    const calls = await tencent.waitFor("flaky", (c) => c.event.event_id === retried, 2);
    expect(calls.map((c) => c.command)).toEqual(["Group.CallbackAfterSendMsg", "Group.CallbackAfterSendMsg"]);
    await sleep(1000);
    expect(tencent.calls("flaky", (c) => c.event.event_id === retried)).toHaveLength(2);
    const after = await command(roomId, "!hooks outbound status flaky", new RegExp(`^Outbound hook "flaky": [^]*${retried.replace(/[$.]/g, "\\$&")} attempt 2`));
    expect(after).toMatch(new RegExp(`${retried.replace(/[$.]/g, "\\$&")} attempt 2: success, HTTP 200`));
  });

  it("an answer that is not Tencent's fails the call as \"response not parseable\"", async () => {
    const roomId = await roomWithBot(admin, bridge.botUserId, { name: "tencent garbled" });
    await addHook(roomId, "garbled", "--format tencent --commands Group.CallbackAfterSendMsg");
    tencent.answer("garbled", () => ({ body: "<html>this is not JSON</html>" }));
    const eventId = await admin.sendMessage(roomId, "anyone there?");
    await tencent.waitFor("garbled", (c) => c.event.event_id === eventId);
    const notice = await botNotice(admin, roomId, bridge.botUserId, /^Outbound hook "garbled" cannot deliver: /, 15_000);
    expect(String(notice.content.body)).toMatch(/response not parseable/);
    expect(String(notice.content.body)).not.toMatch(/tenant=spec|\/garbled\/callback/);
    await sleep(1500);
    expect(tencent.calls("garbled", (c) => c.event.event_id === eventId)).toHaveLength(1);
  });
});

describe("callback hook commands", () => {
  it("add a before-hook with its deadline and failure policy in the state; bad values get a clear error", async () => {
    const roomId = await roomWithBot(admin, bridge.botUserId, { name: "tencent commands" });
    const url = tencent.urlFor("gate");
    const added = await command(roomId, `!hooks outbound add gate ${url} --format tencent --phase before --timeout-ms 500 --on-failure reject`, /^Outbound hook "gate" added/);
    expect(added).toMatch(/judged before they are sent .*timeout 500 ms; if it fails or does not answer in time: reject/);
    expect(added).toMatch(/I can redact here \(my power level \d+, redacting needs 50\)/);
    expect(added).not.toMatch(/tenant=spec/);
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "gate")).toMatchObject({ name: "gate", url, format: "tencent", phase: "before", timeout_ms: 500, on_failure: "reject", method: "POST" });

    const tooShort = await command(roomId, `!hooks outbound add quick ${tencent.urlFor("quick")} --format tencent --phase before --timeout-ms 50`, /Cannot add "quick"/);
    expect(tooShort).toMatch(/timeout_ms/);
    expect(tooShort).toMatch(/100/);
    const retryBefore = await command(roomId, `!hooks outbound add again ${tencent.urlFor("again")} --format tencent --phase before --retry on`, /Cannot add "again"/);
    expect(retryBefore).toMatch(/retry: a before-hook is never retried/);
    const notTencent = await command(roomId, `!hooks outbound add plain ${tencent.urlFor("plain")} --phase before`, /Cannot add "plain"/);
    expect(notTencent).toMatch(/phase: only a hook with format tencent reads it/);
    for (const name of ["quick", "again", "plain"]) expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, name)).toBeNull();
  });
});
