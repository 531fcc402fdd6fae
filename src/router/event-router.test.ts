import { NO_FILTER } from "../outbound/hook-filter.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import { SqliteDeliveryQueue } from "../delivery/queue/sqlite-queue.js";
import { createLogger } from "../observability/logger.js";
import { openDatabase, type Db } from "../store/database.js";
import { EventRouter } from "./event-router.js";
import type { MatrixPort, RoomEvent } from "../matrix/port.js";
import { transactionEndpoint, type TransactionEndpoint } from "../matrix/transactions-test-fixtures.js";

// The router's part in "nothing acknowledged is lost", against a real store: when handle()
// resolves (the homeserver gets its 200), the work left for later is in the store. The
// homeserver side (commands actually running, at the next start too) is in spec/durability.spec.ts.
describe("EventRouter follow-ups (real SQLite store)", () => {
  let dir: string;
  let db: Db;
  let queue: SqliteDeliveryQueue;
  afterEach(async () => {
    await queue.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const event = (e: Partial<RoomEvent> & Pick<RoomEvent, "event_id" | "type" | "sender" | "content">): RoomEvent =>
    ({ room_id: "!room:x", origin_server_ts: 1_700_000_000_000, ...e }) as RoomEvent;

  it("stores commands and the bot's membership changes with the transaction, in order, before it resolves", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    // Only what sorting events needs: who the bridge is, and a room without outbound hooks.
    const matrix = { botUserId: "@bot:x", isBridgeUser: (userId: string) => userId === "@bot:x" } as unknown as MatrixPort;
    const outbound = { registry: { forRoom: () => [] } } as unknown as OutboundHooks;
    const router = new EventRouter({ matrix, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent") });
    // As in a run that dies right after the 200: the follow-ups never start.
    router.holdFollowUpsUntil(new Promise(() => undefined));

    const command = event({ event_id: "$cmd", type: "m.room.message", sender: "@admin:x", content: { msgtype: "m.text", body: "!hooks outbound list" } });
    // Its words do not parse (an unclosed quote): still a command, answered when it runs, never a failed transaction.
    const malformed = event({ event_id: "$bad", type: "m.room.message", sender: "@admin:x", content: { msgtype: "m.text", body: "!hooks don't" } });
    const chat = event({ event_id: "$chat", type: "m.room.message", sender: "@admin:x", content: { msgtype: "m.text", body: "hello" } });
    const invite = event({ event_id: "$inv", type: "m.room.member", state_key: "@bot:x", sender: "@admin:x", content: { membership: "invite" } });
    const othersJoin = event({ event_id: "$join", type: "m.room.member", state_key: "@other:x", sender: "@other:x", content: { membership: "join" } });
    const botsOwn = event({ event_id: "$own", type: "m.room.message", sender: "@bot:x", content: { msgtype: "m.notice", body: "!hooks help" } });
    const redaction = event({ event_id: "$red", type: "m.room.redaction", sender: "@admin:x", content: { redacts: "$some-state" } });
    await router.handle("t1", [command, malformed, chat, invite, othersJoin, botsOwn, redaction]);

    expect(((await queue.handledEvents("t1")) !== null)).toBe(true);
    expect(await queue.pendingFollowUps()).toEqual([
      { txnId: "t1", eventId: "$cmd", event: JSON.stringify(command) },
      { txnId: "t1", eventId: "$bad", event: JSON.stringify(malformed) },
      { txnId: "t1", eventId: "$inv", event: JSON.stringify(invite) },
      { txnId: "t1", eventId: "$red", event: JSON.stringify(redaction) },
    ]);
  });

  it("tells the other processes in which rooms the bridge's users joined or left, once the transaction is stored", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    const matrix = { botUserId: "@bot:x", isBridgeUser: (userId: string) => userId === "@bot:x" || userId.startsWith("@webhook_") } as unknown as MatrixPort;
    const outbound = { registry: { forRoom: () => [] }, applyState: async () => undefined } as unknown as OutboundHooks;
    const inbound = { applyState: async () => undefined } as unknown as InboundHooks;
    const changed: string[] = [];
    const caughtUp: string[][] = [];
    const router = new EventRouter({ matrix, outbound, inbound, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent"),
      onRoomChanged: (roomId) => changed.push(`${roomId} (stored: ${(db.prepare("SELECT count(*) AS n FROM handled_transactions WHERE txn_id = 't1'").get() as { n: number }).n === 1})`),
      catchUp: (roomIds) => void caughtUp.push([...roomIds]) });
    router.holdFollowUpsUntil(new Promise(() => undefined));
    await router.handle("t1", [
      event({ room_id: "!hook:x", event_id: "$h", type: "uk.half-shot.matrix-hookshot.outbound-hook", state_key: "ci", sender: "@admin:x", content: { name: "ci", url: "https://example.org" } }),
      event({ room_id: "!ghost:x", event_id: "$g", type: "m.room.member", state_key: "@webhook_bt_1:x", sender: "@webhook_bt_1:x", content: { membership: "join" } }),
      event({ room_id: "!member:x", event_id: "$m", type: "m.room.member", state_key: "@someone:x", sender: "@someone:x", content: { membership: "join" } }),
      event({ room_id: "!chat:x", event_id: "$c", type: "m.room.message", sender: "@someone:x", content: { msgtype: "m.text", body: "hi" } }),
    ]);
    expect(changed).toEqual(["!ghost:x (stored: true)"]);
    // Before anything was routed, the transaction's rooms were brought up to date.
    expect(caughtUp).toEqual([["!hook:x", "!ghost:x", "!member:x", "!chat:x"]]);
  });

  it("reads the rooms' hook versions beside the handled-id read, once per transaction, and waits for it before routing", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    const matrix = { botUserId: "@bot:x", isBridgeUser: (userId: string) => userId === "@bot:x" } as unknown as MatrixPort;
    const outbound = { registry: { forRoom: () => [] } } as unknown as OutboundHooks;
    const catchUps: Array<{ rooms: string[]; settle: (err?: Error) => void }> = [];
    const router = new EventRouter({ matrix, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent"),
      catchUp: (roomIds) => new Promise<void>((resolve, reject) => void catchUps.push({ rooms: [...roomIds], settle: (err) => (err ? reject(err) : resolve()) })) });
    router.holdFollowUpsUntil(new Promise(() => undefined));
    const chat = (n: number, room: string) => event({ room_id: room, event_id: `$c${n}`, type: "m.room.message", sender: "@someone:x", content: { msgtype: "m.text", body: "hi" } });

    // Started as the handled id is read, not after.
    const handled = router.handledEvents("t1", [chat(1, "!a:x"), chat(2, "!b:x")]);
    expect(catchUps.map((c) => c.rooms)).toEqual([["!a:x", "!b:x"]]);
    expect(await handled).toBeNull();
    let stored = false;
    const handling = router.handle("t1", [chat(1, "!a:x"), chat(2, "!b:x")]).then(() => (stored = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stored).toBe(false); // routing waits for the catch-up
    expect(catchUps).toHaveLength(1); // and does not read again
    catchUps[0]!.settle();
    await handling;
    expect(await queue.handledEvents("t1")).not.toBeNull();

    // Its failure fails the transaction (the homeserver sends it again), as a catch-up's in handle does.
    const again = router.handledEvents("t2", [chat(3, "!a:x")]);
    catchUps[1]!.settle(new Error("the store is down"));
    expect(await again).toBeNull();
    await expect(router.handle("t2", [chat(3, "!a:x")])).rejects.toThrow(/store is down/);
    expect(await queue.handledEvents("t2")).toBeNull();

    // A duplicate's catch-up is dropped; a transaction handled without the read catches up itself.
    void router.handledEvents("t1", [chat(1, "!a:x")]);
    catchUps[2]!.settle(new Error("nobody waits for this"));
    const direct = router.handle("t3", [chat(4, "!c:x")]);
    expect(catchUps.map((c) => c.rooms).slice(3)).toEqual([["!c:x"]]);
    catchUps[3]!.settle();
    await direct;
  });

  it("at start, forgets stored follow-ups that are not room events instead of failing", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    const junk = ["not json", JSON.stringify({ type: "m.room.message", sender: "@admin:x" }), "null"].map((event, i) => ({ eventId: `$junk${i}`, event }));
    await queue.storeTransaction({ txnId: "t1", eventIds: [], messages: [], followUps: junk });
    const errors: string[] = [];
    const log = createLogger("error", { write: (line: string) => void errors.push(line) } as unknown as NodeJS.WritableStream);
    const matrix = { botUserId: "@bot:x", isBridgeUser: () => false } as unknown as MatrixPort;
    const router = new EventRouter({ matrix, outbound: {} as OutboundHooks, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log });
    expect(await router.resumeFollowUps()).toBe(3);
    await router.idle();
    expect(await queue.pendingFollowUps()).toEqual([]);
    expect(errors.filter((line) => line.includes("not a room event"))).toHaveLength(3);
  });

  it("queues a transaction's follow-ups when its write failed unanswered and the homeserver's retry finds it stored", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    // The real queue, except that this transaction's write fails without an answer once.
    const failingOnce = Object.assign(Object.create(queue) as SqliteDeliveryQueue, {
      storeTransaction: () => Promise.reject(new Error("the queue writer thread exited (code 1)")),
    });
    const matrix = { botUserId: "@bot:x", isBridgeUser: () => false } as unknown as MatrixPort;
    const noHookState = { registry: { forRoom: () => [] }, removeRedacted: () => Promise.resolve(null) };
    const router = new EventRouter({
      matrix, outbound: noHookState as unknown as OutboundHooks, inbound: noHookState as unknown as InboundHooks,
      queue: failingOnce, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent"),
    });
    const redaction = event({ event_id: "$red", type: "m.room.redaction", sender: "@admin:x", content: { redacts: "$x" } });
    await expect(router.handle("t1", [redaction])).rejects.toThrow(/exited/);
    // What the writer committed before its thread died.
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$red"], messages: [], followUps: [{ eventId: "$red", event: JSON.stringify(redaction) }] });
    expect(await queue.pendingFollowUps()).toHaveLength(1);

    expect(await router.handledEvents("t1")).toEqual(new Set(["$red"]));
    await router.idle();
    expect(await queue.pendingFollowUps()).toEqual([]);
  });
  it("runs a follow-up once when it is resumed again while it still waits (a re-used id's retry found handled)", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    const redaction = event({ event_id: "$red", type: "m.room.redaction", sender: "@admin:x", content: { redacts: "$x" } });
    await queue.storeTransaction({ txnId: "1", eventIds: ["$red"], messages: [], followUps: [{ eventId: "$red", event: JSON.stringify(redaction) }] });
    let runs = 0;
    const countingHooks = { registry: { forRoom: () => [] }, removeRedacted: () => (runs++, Promise.resolve(null)) };
    const matrix = { botUserId: "@bot:x", isBridgeUser: () => false } as unknown as MatrixPort;
    const router = new EventRouter({
      matrix, outbound: countingHooks as unknown as OutboundHooks, inbound: countingHooks as unknown as InboundHooks,
      queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent"),
    });
    let roomsLoaded!: () => void;
    router.holdFollowUpsUntil(new Promise<void>((resolve) => (roomsLoaded = resolve)));
    expect(await router.resumeFollowUps()).toBe(1); // at start
    await router.resumeFollowUps("1"); // the same id again, while the first is still held
    roomsLoaded();
    await router.idle();
    expect(runs).toBe(2); // outbound and inbound asked once each: the redaction ran once
    expect(await queue.pendingFollowUps()).toEqual([]);
  });
});

// A re-used transaction id (Synapse numbers from 1 again after a restart; Dendrite re-batches a
// retry under its first event's id), through the real transaction endpoint on loopback HTTP.
describe("a re-used transaction id (real HTTP endpoint, real SQLite store)", () => {
  let dir: string;
  let db: Db;
  let queue: SqliteDeliveryQueue;
  let endpointOpen: TransactionEndpoint | undefined;
  afterEach(async () => {
    await endpointOpen?.close();
    await queue.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const message = (id: string, body = "hello"): RoomEvent =>
    ({ event_id: id, room_id: "!room:x", sender: "@admin:x", type: "m.room.message", origin_server_ts: 1_700_000_000_000, content: { msgtype: "m.text", body } });

  async function endpoint() {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    const matrix = { botUserId: "@bot:x", isBridgeUser: (userId: string) => userId === "@bot:x" } as unknown as MatrixPort;
    // One outbound hook in the room; commands are parsed for real, and held (as if the run died after the 200).
    const outbound = { registry: { forRoom: () => [{ id: "ep_a", urls: ["https://a.example/"], filter: NO_FILTER }] } } as unknown as OutboundHooks;
    const router = new EventRouter({ matrix, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent") });
    router.holdFollowUpsUntil(new Promise(() => undefined));
    endpointOpen = await transactionEndpoint(router);
    return endpointOpen;
  }

  const queuedEvents = () => db.prepare("SELECT m.event_id FROM jobs j JOIN messages m ON m.id = j.message_id ORDER BY j.id").pluck().all();

  it("with one more event queues only that event; with the same events, nothing", async () => {
    const { put, duplicates } = await endpoint();
    await put("1", [message("$q1")]);
    expect(queuedEvents()).toEqual(["$q1"]);
    await put("1", [message("$q1"), message("$q2")]);
    expect(queuedEvents()).toEqual(["$q1", "$q2"]);
    expect(await duplicates()).toBe(0);
    await put("1", [message("$q1"), message("$q2")]);
    expect(queuedEvents()).toEqual(["$q1", "$q2"]);
    expect(await duplicates()).toBe(1);
    // Other events under the id (Synapse after a restart, numbering from 1 again) are all handled.
    await put("1", [message("$r1"), message("$r2")]);
    expect(queuedEvents()).toEqual(["$q1", "$q2", "$r1", "$r2"]);
  });

  it("stores a command once, whichever transaction ids bring it", async () => {
    const { put } = await endpoint();
    const command = message("$cmd", "!hooks outbound list");
    await put("1", [command]);
    await put("1", [command, message("$q2")]);
    await put("2", [message("$q3"), command]);
    expect(await queue.pendingFollowUps()).toEqual([{ txnId: "1", eventId: "$cmd", event: JSON.stringify(command) }]);
    expect(queuedEvents()).toEqual(["$q2", "$q3"]);
  });
});
