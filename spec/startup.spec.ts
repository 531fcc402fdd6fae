// Nothing lost at start-up: with enough rooms that loading their hooks takes a while, messages
// sent while the bridge is loading and while it is down are each delivered exactly once.
import Database from "better-sqlite3";
import { inject } from "vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INBOUND_HOOK_EVENT_TYPE } from "../src/connections/inbound-hook-state.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { TestClient } from "../src/demo/test-client.js";
import { loadRegistration } from "../src/matrix/registration.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";
import { secretFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const ROOMS = 150;
const AT_ONCE = 8;

let receiver: Receiver;
let bridge: BridgeUnderTest | undefined;
let storePath: string;
let sender: TestClient;
const rooms: string[] = [];
let inboundUrl: string;

/** Runs `task` for each item, `AT_ONCE` at a time. */
async function eachAtOnce<T, R>(items: readonly T[], task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: AT_ONCE }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  }));
  return results;
}

/** The stopped bridge's store, opened for the test to read or change. */
function withStore(work: (db: Database.Database) => void): void {
  const db = new Database(storePath);
  try {
    work(db);
  } finally {
    db.close();
  }
}

const eventIdOf = (req: ReceivedRequest) => String(req.headers["x-matrix-hookshot-eventid"]);

/** Waits (bounded) until every event was received at its room's hook. */
async function waitForAll(sent: ReadonlyArray<{ eventId: string; path: string }>, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = new Set(receiver.requests.map((r) => `${r.path} ${eventIdOf(r)}`));
    const missing = sent.filter((s) => !got.has(`${s.path} ${s.eventId}`)).map((s) => s.eventId);
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One message into each room; `onSent` is called as the homeserver accepts each. */
const sendOnePerRoom = (label: string, onSent: () => void = () => undefined) =>
  eachAtOnce(rooms, async (roomId, i) => {
    const eventId = await sender.sendMessage(roomId, `${label} ${i}`);
    onSent();
    return { eventId, path: `/room-${i}` };
  });

beforeAll(async () => {
  const { url, registrationPath, serverName } = inject("synapse");
  const registration = await loadRegistration(registrationPath);
  const botUserId = `@${registration.senderLocalpart}:${serverName}`;
  receiver = await Receiver.start();
  bridge = await startBridge();
  storePath = bridge.storePath;
  const user = await registerUser(uniqueName("sender"));
  sender = user.client;
  // The bot creates each room with its outbound hook in the initial state (two requests a room, so
  // that hundreds are made quickly); the sender joins to talk.
  const bot = new TestClient(url, botUserId, registration.asToken);
  rooms.push(...(await eachAtOnce(Array.from({ length: ROOMS }, (_, i) => i), async (i) => {
    const { room_id } = await bot.request<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", {
      preset: "private_chat",
      invite: [user.userId],
      // The sender may configure hooks (for the inbound hook below).
      power_level_content_override: { users: { [user.userId]: 50 } },
      initial_state: [{ type: OUTBOUND_HOOK_EVENT_TYPE, state_key: "sink", content: { name: "sink", url: `${receiver.url}/room-${i}` } }],
    });
    await sender.join(room_id);
    return room_id;
  })));
  // Bounded: every room's hook is active before the test begins.
  for (let i = 0; i < 600 && rooms.some((r) => bridge!.bridge.outbound.registry.forRoom(r).length === 0); i++) await new Promise((r) => setTimeout(r, 100));
  expect(rooms.filter((r) => bridge!.bridge.outbound.registry.forRoom(r).length === 0)).toEqual([]);
  // And one inbound hook, in the room created last.
  await sender.sendStateEvent(rooms[ROOMS - 1]!, INBOUND_HOOK_EVENT_TYPE, "in", { name: "in" });
  inboundUrl = await secretFromDm(sender, botUserId, 'URL of inbound hook "in"');
}, 300_000);

afterAll(async () => {
  await bridge?.stop();
  await receiver?.stop();
});

describe(`a bridge starting with ${ROOMS} rooms, each with a hook`, () => {
  it("delivers exactly once what was sent while it was loading the rooms' hooks and while it was down; an inbound hook answers while loading", async () => {
    const { bridgePort } = inject("synapse");
    await bridge!.stop();
    bridge = undefined;
    // Without saved room state, each room is read from the homeserver: that is the loading this part is about.
    withStore((db) => db.exec("DELETE FROM room_snapshots"));

    // (ii) While loading: the listener answers before the rooms are loaded (start() is still pending).
    const loadStarted = Date.now();
    let started = false;
    let startMs = 0;
    const starting = startBridge({}, storePath).then((b) => {
      started = true;
      startMs = Date.now() - loadStarted;
      return (bridge = b);
    });
    for (let i = 0; i < 3000; i++) {
      const up = await fetch(`http://127.0.0.1:${bridgePort}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (up || started) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // An inbound hook's request waits for its room too, instead of a 404 its sender may not retry.
    const sentBeforeStarted = !started;
    const sendingStarted = Date.now();
    // Messages the homeserver accepted (and so pushed to the bridge) before start() resolved.
    let acceptedWhileLoading = 0;
    const [posted, whileLoading] = await Promise.all([
      fetch(inboundUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "while loading" }) }),
      sendOnePerRoom("while loading", () => void (started || acceptedWhileLoading++)),
    ]);
    const inboundAnswer = { status: posted.status, sentBeforeStarted };
    await starting;
    console.log(`[startup] start() took ${startMs} ms with ${ROOMS} rooms; the ${ROOMS} messages were sent from ${sendingStarted - loadStarted} to ${Date.now() - loadStarted} ms, ${acceptedWhileLoading} of them accepted by the homeserver before start() resolved`);
    // The test is about events that come while the rooms load: some must have.
    expect(acceptedWhileLoading).toBeGreaterThan(0);
    expect(await waitForAll(whileLoading, 60_000)).toEqual([]);
    // Taken, not refused: posted (200), or queued when posting took longer than inbound.postWaitMs (202, on a busy machine).
    expect(inboundAnswer.sentBeforeStarted).toBe(true);
    expect([200, 202]).toContain(inboundAnswer.status);

    // (i) While down: the homeserver holds them back and sends them again once the bridge is up.
    await bridge!.stop();
    bridge = undefined;
    const whileDown = await sendOnePerRoom("while down");
    await startBridge({}, storePath).then((b) => (bridge = b));
    expect(await waitForAll(whileDown, 120_000)).toEqual([]);

    // Exactly once each (by event id), a moment after the last one came.
    await new Promise((r) => setTimeout(r, 500));
    const counts = new Map<string, number>();
    for (const req of receiver.requests) counts.set(eventIdOf(req), (counts.get(eventIdOf(req)) ?? 0) + 1);
    const sent = [...whileLoading, ...whileDown];
    expect(sent.filter((s) => counts.get(s.eventId) !== 1)).toEqual([]);
  }, 300_000);

  it("starts from the saved room state: a hook changed while it was down is served as changed, and a room whose saved state is stale is put right by the check", async () => {
    await bridge!.stop();
    bridge = undefined;
    withStore((db) => expect((db.prepare("SELECT count(*) AS n FROM room_snapshots").get() as { n: number }).n).toBeGreaterThanOrEqual(ROOMS));
    // While down: room 0's hook moves (the homeserver sends the change when the bridge is back,
    // before the message after it).
    await sender.sendStateEvent(rooms[0]!, OUTBOUND_HOOK_EVENT_TYPE, "sink", { name: "sink", url: `${receiver.url}/moved-0` });
    const afterMove = await sender.sendMessage(rooms[0]!, "after the move");
    // Room 1's saved state misses a change (as after a homeserver that lost queued events): the
    // snapshot says its hook posts elsewhere; the room itself says /room-1.
    withStore((db) => {
      const row = db.prepare("SELECT state FROM room_snapshots WHERE room_id = ?").get(rooms[1]!) as { state: string };
      const state = JSON.parse(row.state) as Array<{ type: string; state_key: string; content: Record<string, unknown>; event_id?: string }>;
      const hook = state.find((e) => e.type === OUTBOUND_HOOK_EVENT_TYPE && e.state_key === "sink")!;
      hook.content = { name: "sink", url: `${receiver.url}/stale-1` };
      hook.event_id = "$stale";
      db.prepare("UPDATE room_snapshots SET state = ? WHERE room_id = ?").run(JSON.stringify(state), rooms[1]!);
    });
    bridge = await startBridge({}, storePath);
    expect(await waitForAll([{ eventId: afterMove, path: "/moved-0" }], 60_000)).toEqual([]);
    // Bounded: the background check of every room served from saved state ends.
    const checked = await Promise.race([bridge.bridge.router.snapshotCheck, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 120_000))]);
    expect(checked).toBeGreaterThanOrEqual(1);
    const afterCheck = await sender.sendMessage(rooms[1]!, "after the check");
    expect(await waitForAll([{ eventId: afterCheck, path: "/room-1" }], 60_000)).toEqual([]);
    expect(receiver.requests.filter((r) => r.path.startsWith("/stale-1"))).toEqual([]);
    // The move came as a live event after the start: it is in the saved state for the next start.
    await bridge.stop();
    bridge = undefined;
    withStore((db) => {
      const row = db.prepare("SELECT state FROM room_snapshots WHERE room_id = ?").get(rooms[0]!) as { state: string };
      const hook = (JSON.parse(row.state) as Array<{ type: string; state_key: string; content: { url?: string } }>).find((e) => e.type === OUTBOUND_HOOK_EVENT_TYPE && e.state_key === "sink");
      expect(hook?.content.url).toBe(`${receiver.url}/moved-0`);
    });
  }, 300_000);
});
