// Transactions through the real endpoint onto a real PostgreSQL queue, which checks a transaction's
// id as it stores it (EventRouter.handleIfNew): a new one of plain messages takes one statement
// and no read of the id first; a re-used id is handled as before, only its events new to it.
import { describe, expect, it } from "vitest";
import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import type { RoomEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { NO_FILTER } from "../outbound/hook-filter.js";
import { watchStatements } from "../store/postgres/pg-test-fixtures.js";
import { EventRouter } from "./event-router.js";
import { BOT_MATRIX, routerOnPostgres } from "./router-pg-test-fixtures.js";

const open = routerOnPostgres("routernew");

const message = (id: string, body = "hello"): RoomEvent =>
  ({ event_id: id, room_id: "!room:x", sender: "@admin:x", type: "m.room.message", origin_server_ts: 1_700_000_000_000, content: { msgtype: "m.text", body } });

async function endpoint() {
  const { pool, queue, serve, jobs } = await open();
  const statements = watchStatements(pool);
  // One outbound hook in the room; state events change no hook here; commands are held (as if the run died after the 200).
  const outbound = { registry: { forRoom: () => [{ id: "ep_a", urls: ["https://a.example/"], filter: NO_FILTER }] }, applyState: () => Promise.resolve() } as unknown as OutboundHooks;
  const router = new EventRouter({ matrix: BOT_MATRIX, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent") });
  router.holdFollowUpsUntil(new Promise(() => undefined));
  const { put, duplicates } = await serve(router);
  const queued = async () => (await jobs()).map((j) => j.eventId);
  const idReads = () => statements.filter((s) => s.text.includes("FROM handled_transactions")).length;
  return { put, queued, idReads, statements, duplicates, queue };
}

describe("transactions on the PostgreSQL queue, the id checked as it is stored", () => {
  it("stores a new transaction of messages in one statement; a re-used id gets only its new events, as before", async () => {
    const { put, queued, idReads, statements, duplicates } = await endpoint();
    const before = statements.length;
    await put("1", [message("$q1")]);
    expect(statements.slice(before).map((s) => s.text.match(/FROM (mwb_\w+)/)?.[1] ?? s.text.slice(0, 40))).toEqual(["mwb_store_new_transaction"]);
    expect(await queued()).toEqual(["$q1"]);
    expect(idReads()).toBe(0);
    // The same id with one more event: seen, so read and handled as before (only the new event).
    await put("1", [message("$q1"), message("$q2")]);
    expect(await queued()).toEqual(["$q1", "$q2"]);
    expect(idReads()).toBe(1);
    await put("1", [message("$q1"), message("$q2")]);
    expect(await queued()).toEqual(["$q1", "$q2"]);
    expect(await duplicates()).toBe(1);
  });

  it("stores a command once, whichever transaction ids bring it", async () => {
    const { put, queued, queue } = await endpoint();
    const command = message("$cmd", "!hooks outbound list");
    await put("1", [command]);
    await put("1", [command, message("$q2")]);
    await put("2", [message("$q3"), command]);
    expect(await queue.pendingFollowUps()).toEqual([{ txnId: "1", eventId: "$cmd", event: JSON.stringify(command) }]);
    expect(await queued()).toEqual(["$q2", "$q3"]);
  });

  it("reads the id first for a transaction that carries encryption fields (to-device events)", async () => {
    const { put, idReads, queued } = await endpoint();
    await put("1", [message("$m1")], { to_device: [] });
    expect(idReads()).toBe(1);
    expect(await queued()).toEqual(["$m1"]);
  });

  it("reads the id first for a transaction with a state event or a redaction (their handling writes before the store)", async () => {
    const { put, idReads, statements, queue } = await endpoint();
    const state = { ...message("$s1"), type: "m.room.topic", state_key: "", content: { topic: "t" } } as RoomEvent;
    await put("1", [message("$m1"), state]);
    expect(idReads()).toBe(1);
    const redaction = { ...message("$r1"), type: "m.room.redaction", content: { redacts: "$m1" } } as RoomEvent;
    await put("2", [redaction]);
    expect(idReads()).toBe(2);
    expect(statements.filter((s) => s.text.includes("mwb_store_new_transaction"))).toHaveLength(0);
    expect(await queue.handledEvents("1")).toEqual(new Set(["$m1", "$s1"]));
  });
});
