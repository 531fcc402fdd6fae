// Before-hooks with the Synapse pre-send module, the whole way: Synapse (module loaded by the
// harness) asks the bridge's precheck route, the bridge asks the hook's receiver in Tencent's
// protocol (Group.CallbackBeforeSendMsg), and the verdict holds before anyone sees the message:
// a rejected message fails the sender's send and never reaches another member (their /sync and
// /messages) nor an after-callback; a rewrite is what others and the after-callback receive; a
// hanging hook lets the message through after its deadline, or rejects it by its policy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { verifyTencentSign } from "../src/outbound/formats/tencent/index.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let admin: TestClient;
let other: TestClient;
let roomId: string;
let gate: Receiver;
let follow: Receiver;
let gateToken: string;
const dm = new Set<string>();

interface TencentBody {
  CallbackCommand: string;
  From_Account?: string;
  MsgBody?: Array<{ MsgType: string; MsgContent: { Text?: string } }>;
}
const textOf = (req: ReceivedRequest): string => (JSON.parse(req.body.toString("utf8")) as TencentBody).MsgBody?.[0]?.MsgContent.Text ?? "";
const json = (value: unknown) => ({ status: 200, body: JSON.stringify(value), headers: { "content-type": "application/json" } });

const GATE = { name: "gate", format: "tencent", phase: "before", timeout_ms: 400 };

beforeAll(async () => {
  bridge = await startBridge({ callbacks: { precheck: { secret: inject("synapse").precheckSecret } } });
  admin = (await registerUser(uniqueName("admin"))).client;
  const otherUser = await registerUser(uniqueName("other"));
  other = otherUser.client;
  roomId = await roomWithBot(admin, bridge.botUserId, { botLevel: 100, invite: [otherUser.userId] });
  await other.join(roomId);
  gate = await Receiver.start();
  follow = await Receiver.start();
  // The hook judges by the message's text, as a moderation backend would.
  gate.respondWith((req) => {
    const text = textOf(req);
    if (text.startsWith("reject")) return json({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "no swearing here" });
    if (text.startsWith("rewrite")) return json({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "", MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "a kinder text" } }] });
    if (text.startsWith("hang")) return { ...json({ ActionStatus: "OK", ErrorCode: 0 }), delayMs: 1500 };
    return json({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
  });
  follow.respondWith(() => json({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" }));
  await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "gate", { ...GATE, url: gate.url });
  await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "gate" active: messages are judged before they are sent.*pre-send module/);
  gateToken = await tokenFromDm(admin, bridge.botUserId, "gate", dm);
  await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "follow", { name: "follow", url: follow.url, format: "tencent", callback_commands: ["Group.CallbackAfterSendMsg"] });
  await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "follow" active/);
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await gate?.stop();
  await follow?.stop();
});

/** Every message body the other member can see, by /messages and by a fresh /sync. */
async function seenByOther(): Promise<string[]> {
  const messages = (await other.messages(roomId, { limit: 100 })).chunk;
  const filter = JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 100 } }, presence: { types: [] } });
  const sync = await other.request<{ rooms?: { join?: Record<string, { timeline: { events: MatrixEvent[] } }> } }>("GET", "/_matrix/client/v3/sync", undefined, { query: { filter } });
  const timeline = sync.rooms?.join?.[roomId]?.timeline.events ?? [];
  return [...messages, ...timeline].filter((e) => e.type === "m.room.message").map((e) => String(e.content.body));
}

/** A message that passes, sent after the one under test: once others see it, the earlier one had its chance. */
async function marker(): Promise<string> {
  const body = `marker ${uniqueName("m")}`;
  await admin.sendMessage(roomId, body);
  await other.waitForEvent(roomId, (e) => e.content.body === body, { timeoutMs: 10_000 });
  await follow.waitFor((req) => textOf(req) === body, 1, 10_000);
  return body;
}

describe("before-hooks with the Synapse pre-send module", () => {
  it("asks the hook in Tencent's protocol, signed, and lets an allowed message through once judged", async () => {
    const eventId = await admin.sendMessage(roomId, "hello everyone");
    await other.waitForEvent(roomId, (e) => e.event_id === eventId);
    const [asked] = await gate.waitFor((req) => textOf(req) === "hello everyone");
    const query = new URL(asked!.path, "http://x").searchParams;
    expect(query.get("CallbackCommand")).toBe("Group.CallbackBeforeSendMsg");
    expect(verifyTencentSign(gateToken, query.get("Sign") ?? "", Number(query.get("RequestTime")), Math.floor(Date.now() / 1000))).toBe(true);
    expect((JSON.parse(asked!.body.toString("utf8")) as TencentBody).From_Account).toBe(admin.userId);
    await follow.waitFor((req) => textOf(req) === "hello everyone");
    await marker();
    // Judged once, by the module's question: the bridge did not judge it again when it arrived.
    expect(gate.requests.filter((req) => textOf(req) === "hello everyone")).toHaveLength(1);
  });

  it("rejects: the sender's send fails with ErrorInfo, and nobody else, hooks included, ever sees the message", async () => {
    await expect(admin.sendMessage(roomId, "reject this, you fool")).rejects.toThrow(/403 M_FORBIDDEN.*no swearing here/);
    await marker();
    expect(await seenByOther()).not.toContain("reject this, you fool");
    expect(follow.requests.filter((req) => textOf(req).startsWith("reject"))).toHaveLength(0);
  });

  it("rewrites: others and the after-callback receive the hook's text, never the original", async () => {
    const eventId = await admin.sendMessage(roomId, "rewrite this please");
    const seen = await other.waitForEvent(roomId, (e) => e.event_id === eventId);
    expect(seen.content.body).toBe("a kinder text");
    await follow.waitFor((req) => textOf(req) === "a kinder text");
    await marker();
    expect(await seenByOther()).not.toContain("rewrite this please");
    expect(follow.requests.filter((req) => textOf(req) === "rewrite this please")).toHaveLength(0);
  });

  it("a hook that does not answer in time: the message passes after the deadline (allow), or is rejected (reject policy)", async () => {
    const eventId = await admin.sendMessage(roomId, "hang on, allowed");
    await other.waitForEvent(roomId, (e) => e.event_id === eventId);
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "gate", { ...GATE, url: gate.url, on_failure: "reject" });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "gate" updated: .*if it fails or does not answer in time: reject/);
    await expect(admin.sendMessage(roomId, "hang on, rejected")).rejects.toThrow(/403 M_FORBIDDEN.*could not be asked \(timeout/);
    await marker();
    expect(await seenByOther()).not.toContain("hang on, rejected");
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "gate", { ...GATE, url: gate.url });
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "gate" updated: .*if it fails or does not answer in time: allow/);
  });
});
