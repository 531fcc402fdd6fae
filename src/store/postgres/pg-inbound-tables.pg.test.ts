// The inbound tables' contract on a real PostgreSQL: each instance has its own pool on one
// database, as processes on two hosts would.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { inboundDeliveriesContract, inboundHooksContract, inboundPostsContract } from "../inbound-tables.contract.js";
import { StoreUnavailableError } from "../store-unavailable.js";
import { PgInboundDeliveriesTable } from "./pg-inbound-deliveries-table.js";
import { PgInboundHooksTable } from "./pg-inbound-hooks-table.js";
import { PgInboundPostsTable } from "./pg-inbound-posts-table.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase } from "./pg-test-fixtures.js";

const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
});

/** A database with the schema, and a way to open another "process" (pool) on it. */
async function database(): Promise<() => Promise<pg.Pool>> {
  const url = await freshDatabase("inbound");
  const connect = async () => {
    const pool = await openPgStore({ url, poolSize: 4 });
    pools.push(pool);
    return pool;
  };
  await connect();
  return connect;
}

inboundHooksContract("PostgreSQL", async (changed) => {
  const connect = await database();
  const key = randomBytes(32);
  const pool = await connect();
  return {
    hooks: new PgInboundHooksTable(pool, key, changed),
    other: async (otherChanged) => new PgInboundHooksTable(await connect(), key, otherChanged),
    rawRows: async () => (await pool.query<Record<string, unknown>>("SELECT * FROM inbound_hooks")).rows,
  };
});

inboundPostsContract("PostgreSQL", async () => {
  const connect = await database();
  return { table: new PgInboundPostsTable(await connect()), other: async () => new PgInboundPostsTable(await connect()) };
});

inboundDeliveriesContract("PostgreSQL", async () => {
  const connect = await database();
  return { table: new PgInboundDeliveriesTable(await connect()), other: async () => new PgInboundDeliveriesTable(await connect()) };
});

describe("the inbound tables on PostgreSQL", () => {
  it("two processes: the same hook created at once is one hook with one URL secret, and a post stored by one is the other's redelivery", async () => {
    const connect = await database();
    const key = randomBytes(32);
    const [poolA, poolB] = [await connect(), await connect()];
    const [hooksA, hooksB] = [new PgInboundHooksTable(poolA, key), new PgInboundHooksTable(poolB, key)];
    const [a, b] = await Promise.all([hooksA.ensure("!r:x", "ci", "@a:x"), hooksB.ensure("!r:x", "ci", "@b:x")]);
    expect(a.hook.id).toBe(b.hook.id);
    expect([a.newSecret, b.newSecret].filter((s) => s !== undefined)).toHaveLength(1);
    expect((await hooksB.bySecret((a.newSecret ?? b.newSecret)!))?.id).toBe(a.hook.id);
    expect((await poolA.query("SELECT id FROM inbound_hooks")).rowCount).toBe(1);

    const stored = await new PgInboundPostsTable(poolA).store({ hookId: a.hook.id, roomId: "!r:x", deliveryKey: "gh-1", parts: [{ body: "hi" }] });
    const redelivered = await new PgInboundPostsTable(poolB).store({ hookId: a.hook.id, roomId: "!r:x", deliveryKey: "gh-1", parts: [{ body: "hi" }] });
    expect(stored.created).toBe(true);
    expect(redelivered).toEqual({ post: stored.post, created: false });
  });

  it("text with U+0000 is stored with U+FFFD in its place, and found again the same way", async () => {
    const pool = await (await database())();
    const posts = new PgInboundPostsTable(pool);
    const { post } = await posts.store({ hookId: "ih_1", roomId: "!r:x", deliveryKey: "key\0one", parts: [{ body: "nul \0 inside" }] });
    expect((await posts.byId(post.id))?.parts).toEqual([{ body: "nul \0 inside" }]);
    expect((await posts.store({ hookId: "ih_1", roomId: "!r:x", deliveryKey: "key\0one", parts: [] })).created).toBe(false);
    await posts.finish(post, "refused", { kind: "bad_request", reason: "the answer was \0" });
    expect((await posts.byId(post.id))?.error).toBe("the answer was \uFFFD");
    const deliveries = new PgInboundDeliveriesTable(pool);
    await deliveries.remember("ih_1", "k\0", "$e");
    expect(await deliveries.eventFor("ih_1", "k\0")).toBe("$e");
    const hooks = new PgInboundHooksTable(pool, randomBytes(32));
    expect(await hooks.find("!r:x", "a\0b")).toBeNull();
  });

  it("a pool that ended fails as 'store unavailable', with the driver's error as its cause", async () => {
    const pool = await (await database())();
    await pool.end();
    const failure = await new PgInboundHooksTable(pool, randomBytes(32)).bySecret("x").catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).cause).toBeInstanceOf(Error);
  });
});
