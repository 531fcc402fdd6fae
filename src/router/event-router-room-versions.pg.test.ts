// An appservice process beside others (bridge.role appservice) on a real PostgreSQL: a
// transaction of plain messages is routed with the hooks this process last followed, and the
// store checks those rooms' versions (migration 12) instead of a read of them first. When another
// process changed a room's hooks since, nothing is stored, and the transaction is routed again
// with the room's new hooks: no event goes to the old hooks only.
import { describe, expect, it } from "vitest";
import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import type { RoomEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { NO_FILTER } from "../outbound/hook-filter.js";
import { PgAcceptedHooksTable } from "../store/postgres/pg-accepted-hooks-table.js";
import { watchStatements } from "../store/postgres/pg-test-fixtures.js";
import { EventRouter } from "./event-router.js";
import { RoomFollower } from "./room-follower.js";
import { BOT_MATRIX, routerOnPostgres } from "./router-pg-test-fixtures.js";

const open = routerOnPostgres("roomversions");

const ROOM = "!room:x";
const HOOK_TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";
const message = (id: string): RoomEvent =>
  ({ event_id: id, room_id: ROOM, sender: "@admin:x", type: "m.room.message", origin_server_ts: 1_700_000_000_000, content: { msgtype: "m.text", body: "hi" } });

async function appserviceBesideOthers() {
  const { pool, queue, serve, jobs: queued } = await open();
  // What the other appservice process writes when it accepts a hook (its own table on the same database).
  const accepted = new PgAcceptedHooksTable(pool);
  // This process's hooks: each room's, as last read from the accepted rows (what OutboundHooks does when followed).
  const hooks = new Map<string, string[]>();
  const follower = new RoomFollower({
    accepted,
    followers: [{ followRoom: async (roomId: string) => void hooks.set(roomId, (await accepted.forRoom(roomId)).map((s) => s.stateKey)) }],
    log: createLogger("silent"),
  });
  const outbound = {
    registry: { forRoom: (roomId: string) => (hooks.get(roomId) ?? []).map((id) => ({ id, urls: [`https://${id}.example/`], filter: NO_FILTER })) },
    applyState: () => Promise.resolve(),
  } as unknown as OutboundHooks;
  const router = new EventRouter({
    matrix: BOT_MATRIX, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent"),
    catchUp: (roomIds) => follower.catchUp(roomIds), versionsSeen: (roomIds) => follower.versionsSeen(roomIds),
  });
  const statements = watchStatements(pool);
  const { put } = await serve(router);
  const jobs = async () => (await queued()).map((j) => `${j.eventId}>${j.hookId}`);
  const addHook = (name: string) => accepted.accept(ROOM, HOOK_TYPE, name, `$state_${name}`, { url: `https://${name}.example/` });
  return { put, follower, statements, jobs, addHook };
}

const names = (statements: ReadonlyArray<{ text: string }>) => statements.map((s) => s.text.match(/FROM (mwb_\w+|accepted_\w+|handled_\w+)/)?.[1] ?? s.text.slice(0, 40));

describe("an appservice process beside others, storing with its rooms' versions", () => {
  it("routes and stores a transaction of messages in one statement, with no read of the rooms' versions first", async () => {
    const { put, follower, statements, jobs, addHook } = await appserviceBesideOthers();
    await addHook("ep_a");
    await follower.loadAll();
    const before = statements.length;
    await put("1", [message("$m1")]);
    expect(names(statements.slice(before))).toEqual(["mwb_store_new_transaction"]);
    expect(statements[before]!.values.slice(15)).toEqual([`{"${ROOM}"}`, "{1}"]);
    expect(await jobs()).toEqual(["$m1>ep_a"]);
  });

  it("stores nothing when another process changed a room's hooks since, and routes the transaction again with them", async () => {
    const { put, follower, statements, jobs, addHook } = await appserviceBesideOthers();
    await addHook("ep_a");
    await follower.loadAll();
    await put("1", [message("$m1")]);
    // Added through the other process: no notice reached this one.
    await addHook("ep_b");
    const before = statements.length;
    await put("2", [message("$m2")]);
    // The store found the room at version 2, not 1; then the transaction went the usual way: its
    // id and the rooms' versions read (at once), the room followed, the transaction stored.
    const went = names(statements.slice(before));
    expect([went[0], went.at(-1)]).toEqual(["mwb_store_new_transaction", "mwb_store_transaction"]);
    expect(went.slice(1, -1).sort()).toEqual(["accepted_hook_state", "accepted_rooms", "accepted_rooms", "handled_transactions"]);
    expect(await jobs()).toEqual(["$m1>ep_a", "$m2>ep_a", "$m2>ep_b"]);
    expect(follower.versionsSeen([ROOM])).toEqual(new Map([[ROOM, 2]]));
    // Up to date again: one statement.
    const after = statements.length;
    await put("3", [message("$m3")]);
    expect(names(statements.slice(after))).toEqual(["mwb_store_new_transaction"]);
    expect(await jobs()).toEqual(["$m1>ep_a", "$m2>ep_a", "$m2>ep_b", "$m3>ep_a", "$m3>ep_b"]);
  });

  it("checks a room with no accepted hooks at version 0, and finds it stale once another process gives it one", async () => {
    const { put, follower, jobs, addHook } = await appserviceBesideOthers();
    await follower.loadAll();
    await put("1", [message("$m1")]);
    expect(await jobs()).toEqual([]);
    await addHook("ep_a");
    await put("2", [message("$m2")]);
    expect(await jobs()).toEqual(["$m2>ep_a"]);
  });
});
