// Batched deliveries end to end (docs/batching.md): real Synapse, the bridge in this process, a real HTTP receiver.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { TestClient } from "../src/demo/test-client.js";
import type { BridgeUnderTest } from "./harness/bridge.js";
import type { ReceivedRequest, Receiver } from "./harness/receiver.js";
import { startRoomWithMember, type RoomWithMember } from "./harness/room-with-member.js";
import { botNotice, tokenFromDm } from "./harness/rooms.js";

let bridge: BridgeUnderTest;
let receiver: Receiver;
let admin: TestClient;
let member: TestClient;
let roomId: string;
let started: RoomWithMember | undefined;

beforeAll(async () => {
  started = await startRoomWithMember();
  ({ bridge, receiver, admin, member, roomId } = started);
});

afterAll(async () => {
  await started?.stop();
});

const PATH = "/batched";
const isJson = (r: ReceivedRequest) => String(r.headers["content-type"]).startsWith("application/json");
/** The event ids a request to the batching hook carries: a batch's array, or one event (multipart or JSON). */
function eventIdsOf(r: ReceivedRequest): string[] {
  if (!isJson(r)) return [String(r.headers["x-matrix-hookshot-eventid"])];
  const body = JSON.parse(r.body.toString()) as unknown;
  return Array.isArray(body) ? body.map((e) => (e as { event_id: string }).event_id) : [(body as { event_id: string }).event_id];
}
const toHook = () => receiver.requests.filter((r) => r.path === PATH);
/** Waits (bounded) until every one of these events reached the hook; returns the requests that carried them, in arrival order. */
async function requestsCarrying(eventIds: readonly string[], timeoutMs = 20_000): Promise<ReceivedRequest[]> {
  const wanted = new Set(eventIds);
  await receiver.waitFor(() => {
    const seen = new Set(toHook().flatMap(eventIdsOf));
    return [...wanted].every((id) => seen.has(id));
  }, 1, timeoutMs);
  return toHook().filter((r) => eventIdsOf(r).some((id) => wanted.has(id)));
}

describe("batched deliveries on a real Synapse", () => {
  it("refuses batch settings out of bounds, and for a format that takes one message per request, with clear errors", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add big ${receiver.url}/big --batch-max-events 500`);
    await botNotice(admin, roomId, bridge.botUserId, /Cannot add "big": batch\/max_events: must be <= 100/);
    await admin.sendMessage(roomId, `!hooks outbound add chat ${receiver.url}/chat --format slack --batch-max-events 5`);
    await botNotice(admin, roomId, bridge.botUserId, /Cannot add "chat": batch: format slack sends one message per request, so it cannot batch/);
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "big").catch(() => null)).toBeNull();
  });

  it("adds a batching hook by command", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add batched ${receiver.url}${PATH} --batch-max-events 3 --batch-max-wait-ms 400 --ordering strict`);
    await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "batched" added: .*up to 3 per request after at most 400 ms \(batched\)/);
    expect(await admin.getStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "batched")).toEqual({
      name: "batched", url: `${receiver.url}${PATH}`, method: "PUT", ordering: "strict", batch: { max_events: 3, max_wait_ms: 400 },
    });
    await tokenFromDm(admin, bridge.botUserId, "batched", new Set());
  });

  it("sends events posted quickly as requests of at most 3, in order, each batch with one webhook-id", async () => {
    // The first request is answered late: with strict ordering the other events wait behind it
    // and fill batches, however slowly the homeserver hands them over.
    let answered = 0;
    receiver.respondWith((req) => (req.path === PATH && answered++ === 0 ? { status: 200, delayMs: 2000 } : { status: 200 }));
    const sent: string[] = [];
    for (let i = 1; i <= 7; i++) sent.push(await member.sendMessage(roomId, `quick ${i}`));
    const reqs = await requestsCarrying(sent);
    expect(reqs.flatMap(eventIdsOf)).toEqual(sent);
    for (const req of reqs) {
      const body = JSON.parse(req.body.toString()) as Array<Record<string, unknown>>;
      expect(Array.isArray(body)).toBe(true);
      expect(body.length).toBeGreaterThanOrEqual(1);
      expect(body.length).toBeLessThanOrEqual(3);
      // Each element is the event as it would have been sent alone.
      expect(body[0]).toMatchObject({ type: "m.room.message", room_id: roomId, sender: member.userId, content: { msgtype: "m.text" } });
      expect(req.headers["x-matrix-hookshot-batch-size"]).toBe(String(body.length));
      expect(req.headers["x-matrix-hookshot-eventid"]).toBe(body[0]!.event_id);
      expect(req.headers["webhook-id"]).toMatch(/^batch_[A-Za-z0-9_-]{32}$/);
    }
    // Fewer requests than events, and one webhook-id per batch.
    expect(reqs.length).toBeLessThan(sent.length);
    expect(new Set(reqs.map((r) => r.headers["webhook-id"])).size).toBe(reqs.length);
  });

  it("retries a failed batch whole: the same webhook-id and the same members", async () => {
    let failed = false;
    receiver.respondWith((req) => {
      if (req.path === PATH && !failed && eventIdsOf(req).includes(marker)) {
        failed = true;
        return { status: 500, body: "not yet" };
      }
      return { status: 200 };
    });
    let marker = "";
    marker = await member.sendMessage(roomId, "fail once a");
    const second = await member.sendMessage(roomId, "fail once b");
    await receiver.waitFor((r) => r.path === PATH && eventIdsOf(r).includes(marker), 2);
    receiver.respondWith(() => ({ status: 200 }));
    const [first, retry] = toHook().filter((r) => eventIdsOf(r).includes(marker));
    expect(retry!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(eventIdsOf(retry!)).toEqual(eventIdsOf(first!));
    expect(retry!.body.equals(first!.body)).toBe(true);
    // Strict order: the event after the batch arrives only after the batch went through.
    const reqs = await requestsCarrying([marker, second]);
    expect(reqs.flatMap(eventIdsOf).filter((id) => id === marker || id === second).slice(-2)).toEqual([marker, second]);
    await admin.sendMessage(roomId, "!hooks outbound status batched");
    const status = String((await botNotice(admin, roomId, bridge.botUserId, /Outbound hook "batched": active/)).content.body);
    expect(status).toContain("Dead letters: 0.");
    // One attempt row per event of the batch: each failed once and went through on its second attempt.
    for (const id of eventIdsOf(first!)) {
      expect(status).toContain(`${id} attempt 1: retry, HTTP 500`);
      expect(status).toContain(`${id} attempt 2: success, HTTP 200`);
    }
  });

  it("sends a media event alone, as multipart, with order kept around it", async () => {
    const image = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    const mxc = await admin.uploadMedia(image, "image/png", "dot.png");
    const before = await member.sendMessage(roomId, "before the image");
    const media = await admin.sendMessage(roomId, { msgtype: "m.image", body: "dot.png", url: mxc, info: { mimetype: "image/png", size: image.length } });
    const after = await member.sendMessage(roomId, "after the image");
    const reqs = await requestsCarrying([before, media, after]);
    expect(reqs.flatMap(eventIdsOf)).toEqual([before, media, after]);
    const alone = reqs.filter((r) => eventIdsOf(r).includes(media));
    expect(alone).toHaveLength(1);
    expect(String(alone[0]!.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
    expect(alone[0]!.headers["webhook-id"]).toMatch(/^msg_/);
    expect(alone[0]!.headers["x-matrix-hookshot-batch-size"]).toBeUndefined();
    expect(alone[0]!.body.includes(image)).toBe(true);
  });
});
