// Transformation functions end to end: real Synapse, the bridge in this process, QuickJS sandbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INBOUND_HOOK_EVENT_TYPE } from "../src/connections/inbound-hook-state.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { MatrixEvent, TestClient } from "../src/demo/test-client.js";
import { RAW_PAYLOAD_KEY } from "../src/inbound/content.js";
import type { BridgeUnderTest } from "./harness/bridge.js";
import { startRoomWithMember, type RoomWithMember } from "./harness/room-with-member.js";
import { forEvent, type Receiver } from "./harness/receiver.js";
import { botNotice, secretFromDm } from "./harness/rooms.js";
import { HOOKSHOT_V1, HOOKSHOT_V2_EXAMPLE } from "./fixtures/hookshot-functions.js";

let bridge: BridgeUnderTest;
let admin: TestClient;
let member: TestClient;
let roomId: string;
let receiver: Receiver;
const dm = new Set<string>();

let started: RoomWithMember | undefined;

beforeAll(async () => {
  started = await startRoomWithMember({ inbound: { transformationFunctions: { enabled: true, timeoutMs: 200, memoryBytes: 16 * 1024 * 1024 } } });
  ({ bridge, receiver, admin, member, roomId } = started);
});

afterAll(async () => {
  await started?.stop();
});

async function addInbound(name: string): Promise<string> {
  await admin.sendMessage(roomId, `!hooks inbound add ${name}`);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Inbound hook "${name}" added`));
  return secretFromDm(admin, bridge.botUserId, `URL of inbound hook "${name}"`, dm);
}

async function setFunction(direction: "inbound" | "outbound", name: string, source: string): Promise<void> {
  await admin.sendMessage(roomId, `!hooks ${direction} transform ${name}\n\`\`\`js\n${source}\n\`\`\``);
  await botNotice(admin, roomId, bridge.botUserId, new RegExp(`hook "${name}" has a new transformation function`));
}

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: res.status, json: (await res.json()) as { ok?: boolean; event_id?: string; posted?: boolean } };
}

async function postedEvent(url: string, body: unknown): Promise<MatrixEvent> {
  const res = await post(url, body);
  expect(res.status).toBe(200);
  expect(res.json.event_id).toMatch(/^\$/);
  return admin.waitForEvent(roomId, (e) => e.event_id === res.json.event_id);
}

/** Hookshot renders markdown as blocks (`<p>…</p>`), we render one paragraph inline: the same for a client. */
const withoutParagraph = (html: unknown) => String(html).replace(/^<p>([\s\S]*)<\/p>$/, "$1");

describe("transformation functions on a real Synapse", () => {
  let counterUrl: string;

  it("sets Hookshot's documented function by command into Hookshot's state field", async () => {
    counterUrl = await addInbound("counter");
    await setFunction("inbound", "counter", HOOKSHOT_V2_EXAMPLE);
    expect(await admin.getStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "counter")).toEqual({ name: "counter", transformationFunction: HOOKSHOT_V2_EXAMPLE });
  });

  it("gives the message Hookshot gives for its documented example", async () => {
    const data = { counter: 5, maxValue: 4 };
    const event = await postedEvent(counterUrl, data);
    // Hookshot: body = plain, msgtype m.notice, formatted_body = markdown of plain, the payload kept.
    expect(event.content).toMatchObject({ msgtype: "m.notice", body: "**Oh no!** The counter has gone over by 1", format: "org.matrix.custom.html", [RAW_PAYLOAD_KEY]: data });
    expect(withoutParagraph(event.content.formatted_body)).toBe("<strong>Oh no!</strong> The counter has gone over by 1");
    const fine = await postedEvent(counterUrl, { counter: 1, maxValue: 4 });
    expect(fine.content.body).toBe("*Everything is fine*, the counter is under by 3");
    expect(withoutParagraph(fine.content.formatted_body)).toBe("<em>Everything is fine</em>, the counter is under by 3");
  });

  it("posts nothing when the function says empty, and answers 200", async () => {
    const res = await post(counterUrl, { other: true });
    expect(res).toEqual({ status: 200, json: { ok: true, posted: false } });
    // The next message follows the previous one directly: nothing was posted in between.
    const next = await postedEvent(counterUrl, { counter: 2, maxValue: 4 });
    const { chunk } = await admin.messages(roomId, { limit: 5 });
    const index = chunk.findIndex((e) => e.event_id === next.event_id);
    expect(chunk[index + 1]?.content.body).toBe("*Everything is fine*, the counter is under by 3");
  });

  it("reads Hookshot's v1 results", async () => {
    const url = await addInbound("answers");
    await setFunction("inbound", "answers", HOOKSHOT_V1);
    const event = await postedEvent(url, { question: "What is the meaning of life?", answer: 42 });
    expect(event.content.body).toBe("Received webhook: The answer to 'What is the meaning of life?' is 42");
  });

  it("cannot reach the process, modules, the network or the file system", async () => {
    const url = await addInbound("probe");
    await setFunction("inbound", "probe", [
      "const probes = [];",
      "for (const name of ['require', 'process', 'fetch', 'XMLHttpRequest', 'std', 'os', 'Deno', 'Bun', 'setTimeout', 'console']) probes.push(name + '=' + typeof globalThis[name]);",
      "let opened = 'no';",
      "try { opened = String(require('fs').readFileSync('/etc/hostname')); } catch (e) { opened = e.name; }",
      "result = {version: 'v2', plain: probes.join(' ') + ' fs=' + opened};",
    ].join("\n"));
    const event = await postedEvent(url, {});
    expect(event.content.body).toBe(
      "require=undefined process=undefined fetch=undefined XMLHttpRequest=undefined std=undefined os=undefined Deno=undefined Bun=undefined setTimeout=undefined console=undefined fs=ReferenceError",
    );
  });

  it("stops an endless loop at its time limit, posts the payload as without a function, and tells the room once", async () => {
    const url = await addInbound("looping");
    await setFunction("inbound", "looping", "while (true) {}");
    const posted: MatrixEvent[] = [];
    for (let i = 0; i < 3; i++) posted.push(await postedEvent(url, { run: i }));
    for (const [i, event] of posted.entries()) {
      expect(event.content.body).toContain("Received webhook data:");
      expect(event.content.body).toContain(`"run": ${i}`);
    }
    const notice = await botNotice(admin, roomId, bridge.botUserId, /inbound hook "looping" failed: the function ran out of time/);
    expect(notice.content.body).toMatch(/said once per function/);
    // A command answered after all three requests: every notice about them is in the room by then.
    await admin.sendMessage(roomId, "!hooks inbound list");
    await botNotice(admin, roomId, bridge.botUserId, /^Inbound hooks in this room:[\s\S]*- looping:/);
    const { chunk } = await admin.messages(roomId, { limit: 100 });
    const notices = chunk.filter((e) => e.sender === bridge.botUserId && /inbound hook "looping" failed/.test(String(e.content.body)));
    expect(notices).toHaveLength(1);
  });

  it("shapes the body an outbound hook sends, and skips deliveries the function calls empty", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add shaped ${receiver.url}/shaped --format json`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "shaped" added/);
    const source = [
      "if (data.type !== 'm.room.message' || data.content.body.startsWith('!')) { result = {empty: true}; return; }",
      "result = {text: data.sender + ' said ' + data.content.body, room: data.room_id, words: data.content.body.split(' ').length};",
    ].join("\n");
    await setFunction("outbound", "shaped", source);
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "shaped")).toMatchObject({ format: "json", transformation_function: source });
    const skipped = await member.sendMessage(roomId, "!not for the receiver");
    const eventId = await member.sendMessage(roomId, "hello shaped world");
    const [req] = await receiver.waitFor(forEvent(eventId));
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req!.body.toString())).toEqual({ text: `${member.userId} said hello shaped world`, room: roomId, words: 3 });
    // Skipped before any request is made: nothing reached the receiver for it.
    expect(receiver.requests.filter(forEvent(skipped))).toHaveLength(0);
  });

  it("gives up a delivery whose outbound function fails (a dead letter), tells the room once, and replays it once fixed", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add broken ${receiver.url}/broken`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "broken" added/);
    await setFunction("outbound", "broken", "if (data.type === 'm.room.message') throw new Error('no ' + data.content.body);\nresult = {empty: true};");
    const first = await member.sendMessage(roomId, "first");
    await member.sendMessage(roomId, "second");
    const notice = await botNotice(admin, roomId, bridge.botUserId, /outbound hook "broken" failed: Error: no (first|second) \(line 1\)/);
    expect(notice.content.body).toMatch(/dead letters/);
    await admin.sendMessage(roomId, "!hooks outbound status broken");
    await botNotice(admin, roomId, bridge.botUserId, /Dead letters: 2\./);
    const { chunk } = await admin.messages(roomId, { limit: 100 });
    expect(chunk.filter((e) => e.sender === bridge.botUserId && /outbound hook "broken" failed/.test(String(e.content.body)))).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === "/broken")).toHaveLength(0);
    await setFunction("outbound", "broken", "result = {fixed: data.content.body};");
    await admin.sendMessage(roomId, "!hooks outbound replay broken --dead");
    const [req] = await receiver.waitFor((r) => forEvent(first)(r) && r.path === "/broken");
    expect(JSON.parse(req!.body.toString())).toEqual({ fixed: "first" });
  });
});
