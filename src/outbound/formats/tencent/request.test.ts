import { describe, expect, it } from "vitest";
import { stableIntId } from "../chat/chat-fields.js";
import { MATRIX_EVENT_KEY, msgSeqOf, tencentRequest, type TencentRequestOptions } from "./request.js";
import { tencentSign, verifyTencentSign } from "./sign.js";
import { ALICE, BOB, mediaUrl, memberEvent, messageEvent, ROOM, stateEvent } from "./tencent-test-fixtures.js";

const NOW_MS = 1669872112_345;
const OPTS: TencentRequestOptions = { sdkAppId: "888888", signToken: null, nowMs: NOW_MS, optPlatform: "Unknown", clientIp: "127.0.0.1", mediaUrl };
const HOOK = "https://backend.example.org/im/callback";
const parsed = (b: string) => JSON.parse(b) as Record<string, unknown>;
const bodyFor = (...args: Parameters<typeof tencentRequest>) => parsed(tencentRequest(...args).body);

describe("tencentRequest: URL", () => {
  it("adds Tencent's query parameters, keeping the hook's own", () => {
    const req = tencentRequest("Group.CallbackAfterSendMsg", messageEvent(), `${HOOK}?tenant=a%20b&x=1`, OPTS);
    const url = new URL(req.url);
    expect(url.origin + url.pathname).toBe(HOOK);
    expect([...url.searchParams]).toEqual([
      ["tenant", "a b"],
      ["x", "1"],
      ["SdkAppid", "888888"],
      ["CallbackCommand", "Group.CallbackAfterSendMsg"],
      ["contenttype", "json"],
      ["ClientIP", "127.0.0.1"],
      ["OptPlatform", "Unknown"],
    ]);
    expect(req.contentType).toBe("application/json; charset=utf-8");
  });

  it("replaces a parameter of ours the hook's URL already has, so receivers see one value", () => {
    const url = new URL(tencentRequest("Group.CallbackAfterSendMsg", messageEvent(), `${HOOK}?CallbackCommand=evil&SdkAppid=1`, { ...OPTS, optPlatform: "RESTAPI" }).url);
    expect(url.searchParams.getAll("CallbackCommand")).toEqual(["Group.CallbackAfterSendMsg"]);
    expect(url.searchParams.getAll("SdkAppid")).toEqual(["888888"]);
    expect(url.searchParams.get("OptPlatform")).toBe("RESTAPI");
  });

  it("signs with Sign and RequestTime (seconds) when the hook has a token, verifiable by a receiver", () => {
    const url = new URL(tencentRequest("Group.CallbackAfterSendMsg", messageEvent(), HOOK, { ...OPTS, signToken: "xxxyyy" }).url);
    expect(url.searchParams.get("RequestTime")).toBe("1669872112");
    expect(url.searchParams.get("Sign")).toBe(tencentSign("xxxyyy", 1669872112));
    expect([...url.searchParams.keys()].slice(-2)).toEqual(["Sign", "RequestTime"]);
    expect(verifyTencentSign("xxxyyy", url.searchParams.get("Sign"), url.searchParams.get("RequestTime"), 1669872112)).toBe(true);
  });

  it("has no Sign without a token", () => {
    const url = new URL(tencentRequest("Group.CallbackAfterSendMsg", messageEvent(), HOOK, OPTS).url);
    expect(url.searchParams.has("Sign")).toBe(false);
    expect(url.searchParams.has("RequestTime")).toBe(false);
  });
});

describe("tencentRequest: message bodies", () => {
  it("after a message: Tencent's fields in Tencent's spelling, then the whole Matrix event", () => {
    const event = messageEvent({ msgtype: "m.text", body: "red packet" }, { unsigned: { age: 5 } });
    expect(bodyFor("Group.CallbackAfterSendMsg", event, HOOK, OPTS)).toEqual({
      CallbackCommand: "Group.CallbackAfterSendMsg",
      GroupId: ROOM,
      Type: "Public",
      From_Account: ALICE,
      Operator_Account: ALICE,
      Random: stableIntId(event.event_id) % 2 ** 32,
      MsgSeq: stableIntId(event.event_id),
      MsgTime: 1670574414,
      OnlineOnlyFlag: 0,
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "red packet" } }],
      EventTime: 1670574414123,
      [MATRIX_EVENT_KEY]: event,
    });
  });

  it("before a message: no MsgSeq or MsgTime yet (as Tencent), the same Random as after", () => {
    const event = messageEvent();
    const before = bodyFor("Group.CallbackBeforeSendMsg", event, HOOK, OPTS);
    expect(Object.keys(before)).toEqual(["CallbackCommand", "GroupId", "Type", "From_Account", "Operator_Account", "Random", "OnlineOnlyFlag", "MsgBody", "EventTime", MATRIX_EVENT_KEY]);
    expect(before.Random).toBe(bodyFor("Group.CallbackAfterSendMsg", event, HOOK, OPTS).Random);
    expect(before.Random).toBeLessThan(2 ** 32);
  });

  it("an encrypted message is never sent in clear: a placeholder element, the event without ciphertext", () => {
    const event = messageEvent({ algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEnACsecret", session_id: "sess", sender_key: "k", device_id: "D" }, { type: "m.room.encrypted" });
    const req = tencentRequest("Group.CallbackAfterSendMsg", event, HOOK, OPTS);
    const body = parsed(req.body);
    expect(body.MsgBody).toEqual([{ MsgType: "TIMCustomElem", MsgContent: { Data: "", Desc: "[encrypted message]", Ext: "m.room.encrypted", Sound: "" } }]);
    expect((body[MATRIX_EVENT_KEY] as { content: unknown }).content).toEqual({ algorithm: "m.megolm.v1.aes-sha2" });
    expect(req.body).not.toContain("AwgAEnACsecret");
    expect(req.body).not.toContain("sess");
  });

  it("an encrypted attachment's key is in neither MsgBody nor the copied event", () => {
    const file = { url: "mxc://example.org/enc", key: { kty: "oct", alg: "A256CTR", key_ops: ["encrypt", "decrypt"], k: "KEYMATERIAL", ext: true }, iv: "IVMATERIAL", hashes: { sha256: "H" }, v: "v2" };
    const req = tencentRequest("Group.CallbackAfterSendMsg", messageEvent({ msgtype: "m.image", body: "x.png", file }), HOOK, OPTS);
    expect(req.body).not.toContain("KEYMATERIAL");
    expect(req.body).not.toContain("IVMATERIAL");
    expect(req.body).toContain("mxc://example.org/enc");
  });

  it("copes with an odd timestamp and a huge, deep event", () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) deep = { d: deep };
    const event = messageEvent({ msgtype: "m.text", body: "y".repeat(1_000_000), deep }, { origin_server_ts: -5 as number });
    const body = bodyFor("Group.CallbackAfterSendMsg", event, HOOK, OPTS);
    expect(body.EventTime).toBe(0);
    expect(body.MsgTime).toBe(0);
    expect((body.MsgBody as { MsgContent: { Text: string } }[])[0]!.MsgContent.Text).toHaveLength(1_000_000);
  });
});

describe("tencentRequest: membership, room info, withdrawals", () => {
  it("a join after an invite: JoinType Invited, the inviter as operator, the new member listed", () => {
    const event = memberEvent({ content: { membership: "join" }, prev: { membership: "invite" }, prevSender: BOB });
    const body = bodyFor("Group.CallbackAfterNewMemberJoin", event, HOOK, OPTS);
    expect(body).toMatchObject({ CallbackCommand: "Group.CallbackAfterNewMemberJoin", GroupId: ROOM, Type: "Public", JoinType: "Invited", Operator_Account: BOB, NewMemberList: [{ Member_Account: ALICE }], EventTime: 1670574414123 });
  });

  it("a self-join: JoinType Apply, the member as operator", () => {
    expect(bodyFor("Group.CallbackAfterNewMemberJoin", memberEvent({ content: { membership: "join" } }), HOOK, OPTS)).toMatchObject({ JoinType: "Apply", Operator_Account: ALICE, NewMemberList: [{ Member_Account: ALICE }] });
  });

  it("a leave: Quit by the member, Kicked by someone else (the kicker as operator), a ban Kicked", () => {
    const quit = memberEvent({ content: { membership: "leave" }, prev: { membership: "join" } });
    expect(bodyFor("Group.CallbackAfterMemberExit", quit, HOOK, OPTS)).toMatchObject({ ExitType: "Quit", Operator_Account: ALICE, ExitMemberList: [{ Member_Account: ALICE }] });
    const kick = memberEvent({ sender: BOB, target: ALICE, content: { membership: "leave", reason: "spam" }, prev: { membership: "join" } });
    expect(bodyFor("Group.CallbackAfterMemberExit", kick, HOOK, OPTS)).toMatchObject({ ExitType: "Kicked", Operator_Account: BOB, ExitMemberList: [{ Member_Account: ALICE }] });
    const ban = memberEvent({ sender: BOB, target: ALICE, content: { membership: "ban" }, prev: { membership: "join" } });
    expect(bodyFor("Group.CallbackAfterMemberExit", ban, HOOK, OPTS)).toMatchObject({ ExitType: "Kicked", Operator_Account: BOB });
  });

  it("a new display name: the member's NameCard", () => {
    const event = memberEvent({ content: { membership: "join", displayname: "Al" }, prev: { membership: "join", displayname: "Alice" } });
    expect(bodyFor("Group.CallbackAfterMemberFieldChanged", event, HOOK, OPTS)).toMatchObject({ Operator_Account: ALICE, Member_Account: ALICE, NameCard: "Al" });
  });

  it("room name, topic and avatar: only the field that changed; the avatar as a fetchable URL", () => {
    const name = bodyFor("Group.CallbackAfterGroupInfoChanged", stateEvent("m.room.name", { name: "Town" }), HOOK, OPTS);
    expect(name).toMatchObject({ Operator_Account: ALICE, Name: "Town" });
    expect(name).not.toHaveProperty("Introduction");
    expect(bodyFor("Group.CallbackAfterGroupInfoChanged", stateEvent("m.room.topic", { topic: "news" }), HOOK, OPTS)).toMatchObject({ Introduction: "news" });
    expect(bodyFor("Group.CallbackAfterGroupInfoChanged", stateEvent("m.room.avatar", { url: "mxc://example.org/face" }), HOOK, OPTS)).toMatchObject({ FaceUrl: mediaUrl("mxc://example.org/face") });
    expect(bodyFor("Group.CallbackAfterGroupInfoChanged", stateEvent("m.room.avatar", { url: "https://tracker.example/p.png" }), HOOK, OPTS)).toMatchObject({ FaceUrl: "" });
    expect(bodyFor("Group.CallbackAfterGroupInfoChanged", stateEvent("m.room.avatar", {}), HOOK, OPTS)).toMatchObject({ FaceUrl: "" });
  });

  it("a redaction withdraws the message whose MsgSeq the after-send request carried", () => {
    const sent = bodyFor("Group.CallbackAfterSendMsg", messageEvent({ msgtype: "m.text", body: "oops" }, { event_id: "$oops:example.org" }), HOOK, OPTS);
    const redaction = { ...messageEvent({ reason: "typo" }, { type: "m.room.redaction", event_id: "$r:example.org" }), redacts: "$oops:example.org" };
    const body = bodyFor("Group.CallbackAfterRecallMsg", redaction, HOOK, OPTS);
    expect(body).toMatchObject({ CallbackCommand: "Group.CallbackAfterRecallMsg", Operator_Account: ALICE, MsgSeqList: [{ MsgSeq: sent.MsgSeq }] });
    expect(msgSeqOf("$oops:example.org")).toBe(sent.MsgSeq);
  });

  it("a command that does not fit the event still gives a request, never an exception", () => {
    const message = messageEvent();
    expect(bodyFor("Group.CallbackAfterMemberExit", message, HOOK, OPTS)).toMatchObject({ ExitType: "Quit", ExitMemberList: [{ Member_Account: ALICE }] });
    expect(bodyFor("Group.CallbackAfterGroupInfoChanged", message, HOOK, OPTS)).toMatchObject({ Operator_Account: ALICE });
    expect(bodyFor("Group.CallbackAfterRecallMsg", message, HOOK, OPTS)).toMatchObject({ MsgSeqList: [] });
    expect(bodyFor("Group.CallbackAfterNewMemberJoin", message, HOOK, OPTS)).toMatchObject({ JoinType: "Apply" });
    expect(bodyFor("Group.CallbackAfterMemberFieldChanged", message, HOOK, OPTS)).toMatchObject({ NameCard: "" });
  });

  it("throws a clear error for a base URL that is not absolute", () => {
    expect(() => tencentRequest("Group.CallbackAfterSendMsg", messageEvent(), "/relative", OPTS)).toThrow(/Invalid URL/);
  });
});
