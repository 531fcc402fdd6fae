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
import type { MatrixPort, RoomEvent } from "./port.js";

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
    const chat = event({ event_id: "$chat", type: "m.room.message", sender: "@admin:x", content: { msgtype: "m.text", body: "hello" } });
    const invite = event({ event_id: "$inv", type: "m.room.member", state_key: "@bot:x", sender: "@admin:x", content: { membership: "invite" } });
    const othersJoin = event({ event_id: "$join", type: "m.room.member", state_key: "@other:x", sender: "@other:x", content: { membership: "join" } });
    const botsOwn = event({ event_id: "$own", type: "m.room.message", sender: "@bot:x", content: { msgtype: "m.notice", body: "!hooks help" } });
    const redaction = event({ event_id: "$red", type: "m.room.redaction", sender: "@admin:x", content: { redacts: "$some-state" } });
    await router.handle("t1", [command, chat, invite, othersJoin, botsOwn, redaction]);

    expect(queue.isTransactionHandled("t1")).toBe(true);
    expect(queue.pendingFollowUps()).toEqual([
      { txnId: "t1", seq: 0, event: JSON.stringify(command) },
      { txnId: "t1", seq: 1, event: JSON.stringify(invite) },
      { txnId: "t1", seq: 2, event: JSON.stringify(redaction) },
    ]);
  });

  it("at start, forgets stored follow-ups that are not room events instead of failing", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    await queue.enqueue("t1", [], ["not json", JSON.stringify({ type: "m.room.message", sender: "@admin:x" }), "null"]);
    const errors: string[] = [];
    const log = createLogger("error", { write: (line: string) => void errors.push(line) } as unknown as NodeJS.WritableStream);
    const matrix = { botUserId: "@bot:x", isBridgeUser: () => false } as unknown as MatrixPort;
    const router = new EventRouter({ matrix, outbound: {} as OutboundHooks, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log });
    expect(router.resumeFollowUps()).toBe(3);
    await router.idle();
    expect(queue.pendingFollowUps()).toEqual([]);
    expect(errors.filter((line) => line.includes("not a room event"))).toHaveLength(3);
  });

  it("queues a transaction's follow-ups when its write failed unanswered and the homeserver's retry finds it stored", async () => {
    dir = mkdtempSync(join(tmpdir(), "mwb-router-"));
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    // The real queue, except that this transaction's write fails without an answer once.
    const failingOnce = Object.assign(Object.create(queue) as SqliteDeliveryQueue, {
      enqueue: () => Promise.reject(new Error("the queue writer thread exited (code 1)")),
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
    await queue.enqueue("t1", [], [JSON.stringify(redaction)]);
    expect(queue.pendingFollowUps()).toHaveLength(1);

    expect(router.isHandled("t1")).toBe(true);
    await router.idle();
    expect(queue.pendingFollowUps()).toEqual([]);
  });
});
