// Tencent before-hooks (Group.CallbackBeforeSendMsg) WITHOUT the Synapse module, on a real
// Synapse: the bridge judges a message after it arrives and redacts a rejected one with the reason;
// a rewrite is redacted and reposted by the bot; the room's after-hook gets a message only once it
// was allowed, rewritten as the hook said; a hook that hangs past its deadline follows its failure
// policy. The activation notice says whether the bot can redact.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { botNotice, roomWithBot, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";
import { signedWith, TENCENT_OK, TencentHookReceiver, textBody, type TencentCall } from "./tencent-hook-receiver.js";

let bridge: BridgeUnderTest;
let tencent: TencentHookReceiver;
let admin: TestClient;
let bob: { userId: string; client: TestClient };
const dm = new Set<string>();
const tokens = new Map<string, string>();

beforeAll(async () => {
  bridge = await startBridge();
  tencent = await TencentHookReceiver.start();
  admin = (await registerUser(uniqueName("admin"))).client;
  bob = await registerUser(uniqueName("bob"));
});

afterAll(async () => {
  await bridge?.stop();
  await tencent?.stop();
});

const BEFORE = "Group.CallbackBeforeSendMsg";
const AFTER = "Group.CallbackAfterSendMsg";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const forEvent = (eventId: string) => (c: TencentCall) => c.event.event_id === eventId;

async function addHook(roomId: string, name: string, options: string): Promise<void> {
  await admin.sendMessage(roomId, `!hooks outbound add ${name} ${tencent.urlFor(name)} ${options}`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Outbound hook "${name}" added`));
  tokens.set(name, await tokenFromDm(admin, bridge.botUserId, name, dm));
}

/** A room with bob in it, an after-hook `after<n>` and a before-hook `gate<n>` (added last: later commands are judged too). */
async function moderatedRoom(n: string, gateOptions = ""): Promise<string> {
  const roomId = await roomWithBot(admin, bridge.botUserId, { name: `moderated ${n}`, invite: [bob.userId] });
  await bob.client.join(roomId);
  await addHook(roomId, `after${n}`, `--format tencent --commands ${AFTER}`);
  await addHook(roomId, `gate${n}`, `--format tencent --phase before ${gateOptions}`);
  return roomId;
}

const redactedBecause = (e: MatrixEvent) => (e.unsigned as { redacted_because?: MatrixEvent } | undefined)?.redacted_because;

/** The reason the message was redacted with, as another member sees it (bounded wait). */
async function redactionReason(roomId: string, eventId: string): Promise<string> {
  const redacted = await admin.waitForEvent(roomId, (e) => e.event_id === eventId && redactedBecause(e) !== undefined, { timeoutMs: 10_000 });
  expect(redacted.content).toEqual({});
  expect(redactedBecause(redacted)!.sender).toBe(bridge.botUserId);
  return String(redactedBecause(redacted)!.content.reason);
}

/** The message as another member sees it now. */
async function asSeen(roomId: string, eventId: string): Promise<MatrixEvent | undefined> {
  return (await admin.messages(roomId, { limit: 100 })).chunk.find((e) => e.event_id === eventId);
}

describe("before-hooks without the Synapse module", () => {
  it("redact a rejected message with ErrorInfo, let an allowed one through, and repost a rewrite; the after-hook gets only what was allowed", async () => {
    const roomId = await moderatedRoom("1");
    tencent.answer("gate1", (call) => {
      const text = String(call.body.MsgBody?.[0]?.MsgContent?.Text);
      if (text.startsWith("reject")) return { body: { ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: "No swearing in the town square" } };
      if (text.startsWith("drop")) return { body: { ActionStatus: "OK", ErrorCode: 2, ErrorInfo: "spam" } };
      if (text.startsWith("rewrite")) return { body: { ...TENCENT_OK, MsgBody: textBody("[censored] it") } };
      return {};
    });

    const rejected = await bob.client.sendMessage(roomId, "reject: darn");
    const [asked] = await tencent.waitFor("gate1", forEvent(rejected));
    expect(asked!.command).toBe(BEFORE);
    expect(asked!.query.get("CallbackCommand")).toBe(BEFORE);
    expect(asked!.body).toMatchObject({ GroupId: roomId, From_Account: bob.userId, Operator_Account: bob.userId, MsgBody: textBody("reject: darn") });
    expect(signedWith(asked!, tokens.get("gate1")!)).toBe(true);
    expect(await redactionReason(roomId, rejected)).toMatch(/^Rejected by before-hook "gate1": No swearing in the town square$/);

    const dropped = await bob.client.sendMessage(roomId, "drop: buy cheap watches");
    expect(await redactionReason(roomId, dropped)).toBe('Dropped by before-hook "gate1": spam');

    const allowed = await bob.client.sendMessage(roomId, "hello, all");
    const [followed] = await tencent.waitFor("after1", forEvent(allowed));
    expect(followed!.body).toMatchObject({ From_Account: bob.userId, MsgBody: textBody("hello, all") });
    expect(tencent.calls("gate1", forEvent(allowed))).toHaveLength(1);
    expect(redactedBecause((await asSeen(roomId, allowed))!)).toBeUndefined();
    // Judged in turn: the allowed message came after the rejected and dropped ones, which never reached the after-hook.
    expect(tencent.calls("after1", (c) => c.event.event_id === rejected || c.event.event_id === dropped)).toEqual([]);

    const rewritten = await bob.client.sendMessage(roomId, "rewrite: darn it");
    expect(await redactionReason(roomId, rewritten)).toBe('Rewritten by before-hook "gate1"');
    await botNotice(admin, roomId, bridge.botUserId, new RegExp(`^${bob.userId.replace(/[.]/g, "\\.")} \\(rewritten by before-hook "gate1"\\): \\[censored\\] it$`));
    const [carried] = await tencent.waitFor("after1", forEvent(rewritten));
    expect(carried!.body.MsgBody).toEqual(textBody("[censored] it"));
    expect(carried!.event.content.body).toBe("[censored] it");
    expect(JSON.stringify(carried!.body)).not.toContain("darn");

    // Nothing of the bot (its redactions, its reposted text) goes to the hooks; the after-hook got exactly the two allowed messages.
    await sleep(1000);
    expect(tencent.calls("after1", (c) => c.event.sender === bridge.botUserId)).toEqual([]);
    expect(tencent.calls("after1", (c) => c.event.sender === bob.userId).map((c) => c.event.event_id)).toEqual([allowed, rewritten]);
  });

  it("a hook that hangs past its deadline lets the message through by default (on_failure allow)", async () => {
    const roomId = await moderatedRoom("2", "--timeout-ms 300");
    tencent.answer("gate2", () => ({ delayMs: 3000 }));
    const eventId = await bob.client.sendMessage(roomId, "is anyone moderating?");
    const [followed] = await tencent.waitFor("after2", forEvent(eventId));
    expect(followed!.body.MsgBody).toEqual(textBody("is anyone moderating?"));
    expect(tencent.calls("gate2", forEvent(eventId))).toHaveLength(1);
    const seen = await asSeen(roomId, eventId);
    expect(seen!.content.body).toBe("is anyone moderating?");
    expect(redactedBecause(seen!)).toBeUndefined();
  });

  it("a hook that hangs past its deadline with on_failure reject gets the message redacted", async () => {
    const roomId = await moderatedRoom("3", "--timeout-ms 300 --on-failure reject");
    tencent.answer("gate3", () => ({ delayMs: 3000 }));
    const eventId = await bob.client.sendMessage(roomId, "strict room");
    await tencent.waitFor("gate3", forEvent(eventId));
    expect(await redactionReason(roomId, eventId)).toMatch(/^Rejected by before-hook "gate3": The room's moderation hook could not be asked \(timeout \(no answer within 300 ms\)\), and it rejects messages then\.$/);
    // A later allowed message shows the hook's lane moved on without the rejected one.
    tencent.answer("gate3", () => ({}));
    const later = await bob.client.sendMessage(roomId, "strict room, answered in time");
    await tencent.waitFor("after3", forEvent(later));
    expect(tencent.calls("after3", forEvent(eventId))).toEqual([]);
  });

  it("judges bot commands too: a rejected one is redacted and not run, an allowed one runs", async () => {
    const roomId = await moderatedRoom("4");
    tencent.answer("gate4", (call) => (String(call.body.MsgBody?.[0]?.MsgContent?.Text).includes("swear") ? { body: { ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: "not here" } } : {}));
    const rejected = await bob.client.sendMessage(roomId, "!hooks help swear words");
    expect(await redactionReason(roomId, rejected)).toBe('Rejected by before-hook "gate4": not here');
    const allowed = await bob.client.sendMessage(roomId, "!hooks help");
    await tencent.waitFor("gate4", forEvent(allowed));
    await botNotice(admin, roomId, bridge.botUserId, /outbound add/);
    // Commands are never an after-callback's business, allowed or not.
    expect(tencent.calls("after4", (c) => c.event.event_id === rejected || c.event.event_id === allowed)).toEqual([]);
  });
});

describe("a before-hook's activation notice", () => {
  async function activate(botLevel: number, name: string): Promise<string> {
    const roomId = await roomWithBot(admin, bridge.botUserId, { name: `notice ${name}`, botLevel });
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, name, { name, url: tencent.urlFor(name), format: "tencent", phase: "before" });
    return String((await botNotice(admin, roomId, bridge.botUserId, new RegExp(`^Outbound hook "${name}" active: `))).content.body);
  }

  it("says the bot can redact when it may, and that it cannot when its power level is too low", async () => {
    const can = await activate(50, "mayredact");
    expect(can).toMatch(/messages are judged after they are sent and a rejected one is redacted — others may see it until then; I can redact here \(my power level 50, redacting needs 50\)/);
    const cannot = await activate(0, "mayweredact");
    expect(cannot).toMatch(/I cannot redact here \(my power level 0, redacting needs 50\): raise my power level, or rejected messages stay visible/);
  });
});
