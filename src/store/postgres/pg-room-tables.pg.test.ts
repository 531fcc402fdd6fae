// The room tables' contract on a real PostgreSQL: each instance has its own pool on one
// database, as processes on two hosts would.
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { acceptedHooksContract, roomSnapshotsContract } from "../room-tables.contract.js";
import { StoreUnavailableError } from "../store-unavailable.js";
import { PgAcceptedHooksTable } from "./pg-accepted-hooks-table.js";
import { PgRoomSnapshotsTable } from "./pg-room-snapshots-table.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase } from "./pg-test-fixtures.js";

const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
});

/** A database with the schema, and a way to open another "process" (pool) on it. */
async function database(): Promise<() => Promise<pg.Pool>> {
  const url = await freshDatabase("rooms");
  const connect = async () => {
    const pool = await openPgStore({ url, poolSize: 4 });
    pools.push(pool);
    return pool;
  };
  return connect;
}

acceptedHooksContract("PostgreSQL", async (changed) => {
  const connect = await database();
  const pool = await connect();
  return {
    table: new PgAcceptedHooksTable(pool, changed),
    other: async (otherChanged) => new PgAcceptedHooksTable(await connect(), otherChanged),
    writeRawContent: async (roomId, eventType, stateKey, content) =>
      void (await pool.query("INSERT INTO accepted_hook_state (room_id, event_type, state_key, event_id, content) VALUES ($1, $2, $3, NULL, $4)", [roomId, eventType, stateKey, content])),
  };
});

roomSnapshotsContract("PostgreSQL", async () => {
  const connect = await database();
  const pool = await connect();
  return {
    table: new PgRoomSnapshotsTable(pool),
    other: async () => new PgRoomSnapshotsTable(await connect()),
    writeRawState: async (roomId, state) =>
      void (await pool.query("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES ($1, $2, 0) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state", [roomId, state])),
  };
});

describe("the room tables on PostgreSQL", () => {
  it("a snapshot update waits for another process's change of the same room, and keeps both", async () => {
    const connect = await database();
    const pool = await connect();
    const table = new PgRoomSnapshotsTable(await connect());
    await table.save("!r:x", []);
    const member = (key: string) => ({ type: "m.room.member", state_key: key, sender: key, content: { membership: "join" } });
    // Another process's update under way: it holds the row until it commits.
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT state FROM room_snapshots WHERE room_id = '!r:x' FOR UPDATE");
      let read = false;
      const updating = table.update("!r:x", (saved) => ((read = true), [...(saved as []), member("@b:x")]));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(read).toBe(false);
      await other.query("UPDATE room_snapshots SET state = $1 WHERE room_id = '!r:x'", [JSON.stringify([member("@a:x")])]);
      await other.query("COMMIT");
      await updating;
    } finally {
      other.release();
    }
    expect(((await table.get("!r:x")) as Array<{ state_key: string }>).map((e) => e.state_key)).toEqual(["@a:x", "@b:x"]);
  });

  it("a pool that ended fails as 'store unavailable', for a read and for an update", async () => {
    const pool = await (await database())();
    await pool.end();
    await expect(new PgAcceptedHooksTable(pool).version("!r:x")).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(new PgRoomSnapshotsTable(pool).update("!r:x", () => null)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
