// The accepted hook state kept in memory by a process alone on its PostgreSQL store (role all):
// what it reads and writes against a real server.
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { AcceptedHooksMirror } from "../accepted-hooks-mirror.js";
import { PgAcceptedHooksTable } from "./pg-accepted-hooks-table.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase, watchStatements } from "./pg-test-fixtures.js";

const TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";
const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
});

async function fixture() {
  const url = await freshDatabase("mirror");
  const pool = await openPgStore({ url, poolSize: 2 });
  pools.push(pool);
  return { pool, statements: watchStatements(pool), table: new PgAcceptedHooksTable(pool) };
}

describe("AcceptedHooksMirror on PostgreSQL", () => {
  it("serves the rows stored before it opened, and re-accepting one as stored writes nothing", async () => {
    const { pool, statements, table } = await fixture();
    await table.accept("!r:x", TYPE, "ci", "$1", { url: "https://a.example/" });
    await pool.query("INSERT INTO accepted_hook_state (room_id, event_type, state_key, event_id, content) VALUES ('!r:x', $1, 'junk', NULL, 'not json')", [TYPE]);
    const mirror = await AcceptedHooksMirror.open(table);
    statements.length = 0;
    expect(await mirror.forRoom("!r:x")).toEqual([{ eventType: TYPE, stateKey: "ci", eventId: "$1", content: { url: "https://a.example/" } }]);
    await mirror.accept("!r:x", TYPE, "ci", "$1", { url: "https://a.example/" });
    await mirror.forget("!r:x", TYPE, "never-there");
    await mirror.forgetRoom("!other:x");
    expect(statements).toEqual([]);
  });

  it("writes a change through (the store's version grows), and keeps it", async () => {
    const { table } = await fixture();
    const mirror = await AcceptedHooksMirror.open(table);
    await mirror.accept("!r:x", TYPE, "ci", "$1", { url: "https://a.example/" });
    await mirror.accept("!r:x", TYPE, "ci", "$2", { url: "https://b.example/" });
    expect(await table.version("!r:x")).toBe(2);
    expect(await table.forRoom("!r:x")).toEqual([{ eventType: TYPE, stateKey: "ci", eventId: "$2", content: { url: "https://b.example/" } }]);
    expect(await mirror.forRoom("!r:x")).toEqual(await table.forRoom("!r:x"));
    await mirror.forget("!r:x", TYPE, "ci");
    expect(await table.forRoom("!r:x")).toEqual([]);
    expect(await mirror.forRoom("!r:x")).toEqual([]);
    await mirror.accept("!r:x", TYPE, "a", null, {});
    await mirror.forgetRoom("!r:x");
    expect(await table.rooms()).toEqual([]);
    expect(await mirror.forRoom("!r:x")).toEqual([]);
  });

  it("changes nothing in memory when the write fails", async () => {
    const { pool, table } = await fixture();
    const mirror = await AcceptedHooksMirror.open(table);
    await mirror.accept("!r:x", TYPE, "ci", "$1", { url: "https://a.example/" });
    await pool.end();
    await expect(mirror.accept("!r:x", TYPE, "ci", "$2", { url: "https://b.example/" })).rejects.toThrow();
    await expect(mirror.forget("!r:x", TYPE, "ci")).rejects.toThrow();
    expect((await mirror.forRoom("!r:x")).map((row) => row.eventId)).toEqual(["$1"]);
  });
});
