// The outbound hook records' contract on a real PostgreSQL: each instance has its own pool on one
// database, as processes on two hosts would. Then what only several processes do.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openOutboundHookRecords, type OutboundHookRecords } from "../outbound-hook-records.js";
import { outboundHookRecordsContract } from "../outbound-hook-records.contract.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase, watchStatements } from "./pg-test-fixtures.js";

const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
});

/** A database with the schema, and a way to open another "process" on it; each announces its changes to `announced`. */
async function database(): Promise<{ open: (announced?: string[]) => Promise<OutboundHookRecords>; pool: pg.Pool }> {
  const url = await freshDatabase("hooks");
  const key = randomBytes(32);
  const connect = async () => {
    const pool = await openPgStore({ url, poolSize: 4 });
    pools.push(pool);
    return pool;
  };
  const pool = await connect();
  return { pool, open: async (announced = []) => openOutboundHookRecords({ db: null as never, pool: await connect() }, key, (id) => announced.push(id)) };
}

outboundHookRecordsContract("PostgreSQL", async () => {
  const { open, pool } = await database();
  const announced: string[] = [];
  return {
    records: await open(announced),
    other: () => open(),
    rawRows: async (table) => (await pool.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows,
    announced,
  };
});

describe("outbound hook records shared by processes on PostgreSQL", () => {
  it("a process with another store key is refused at open, saying why, before it serves anything", async () => {
    const { open, pool } = await database();
    await (await open()).hooks.ensure("!r:x", "ci", "@a:x");
    const err = await openOutboundHookRecords({ db: null as never, pool }, randomBytes(32), () => undefined).catch((e: unknown) => e);
    expect(String(err)).toMatch(/store\.encryptionKey differs from the key it was sealed with/);
  });

  it("the same hook created by two processes at once is one hook with one token", async () => {
    const { open } = await database();
    const [a, b] = [await open(), await open()];
    const [x, y] = await Promise.all([a.hooks.ensure("!r:x", "ci", "@a:x"), b.hooks.ensure("!r:x", "ci", "@b:x")]);
    expect(x.hook.id).toBe(y.hook.id);
    const tokens = [x.newToken, y.newToken].filter((t) => t !== undefined);
    expect(tokens).toHaveLength(1);
    expect(a.hooks.token(x.hook.id)).toBe(tokens[0]);
    expect(b.hooks.token(x.hook.id)).toBe(tokens[0]);
  });

  it("agree on since when a hook fails whichever process saw the failures and the success, each change announced", async () => {
    const { open } = await database();
    const [heardA, heardB] = [[] as string[], [] as string[]];
    const [a, b] = [(await open(heardA)).hooks, (await open(heardB)).hooks];
    const { hook } = await a.ensure("!r:x", "ci", "@u:x");
    await b.find("!r:x", "ci");
    expect(await a.markFailing(hook.id, 10)).toBe(10);
    expect(heardA).toEqual([hook.id]);
    // Before b hears of it, its failure finds the episode a began.
    expect(await b.markFailing(hook.id, 20)).toBe(10);
    expect(heardB).toEqual([]);
    // The hook works through b: a hears of it (as b announces it) and its next failure starts a new episode.
    expect(await b.markHealthy(hook.id)).toBe(10);
    expect(heardB).toEqual([hook.id]);
    await a.reload(hook.id);
    expect(await a.markHealthy(hook.id)).toBeNull();
    expect(await a.markFailing(hook.id, 30)).toBe(30);
    expect((await b.byId(hook.id))?.failingSince).toBe(30);
  });

  it("a success writes nothing while the process knows the hook does not fail", async () => {
    const { open, pool } = await database();
    const a = (await open()).hooks;
    const { hook } = await a.ensure("!r:x", "quiet", "@u:x");
    // Another process's failure, not announced here: this one does not know, and its success writes nothing.
    await pool.query("UPDATE outbound_hooks SET failing_since = 5 WHERE id = $1", [hook.id]);
    expect(await a.markHealthy(hook.id)).toBeNull();
    expect((await pool.query("SELECT failing_since FROM outbound_hooks WHERE id = $1", [hook.id])).rows[0]).toEqual({ failing_since: 5 });
    await a.reload(hook.id);
    expect(await a.markHealthy(hook.id)).toBe(5);
  });

  it("one process claims the failure notice and one ends the episode; a released claim counts as untold", async () => {
    const { open } = await database();
    const [a, b] = [(await open()).hooks, (await open()).hooks];
    const { hook } = await a.ensure("!r:x", "n", "@u:x");
    await b.find("!r:x", "n");
    const claims = await Promise.all([a.claimFailureNotice(hook.id, 100), b.claimFailureNotice(hook.id, 101)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = claims[0] ? a : b;
    const loser = claims[0] ? b : a;
    const at = claims[0] ? 100 : 101;
    // The other read the episode again: it knows the room was told.
    expect((await loser.failureEpisode(hook.id)).noticedAt).toBe(at);
    await winner.releaseFailureNotice(hook.id, at);
    expect((await winner.failureEpisode(hook.id)).noticedAt).toBeNull();
    expect(await a.claimFailureNotice(hook.id, 200)).toBe(true);
    await b.reload(hook.id);
    const ends = await Promise.all([a.endFailureEpisode(hook.id), b.endFailureEpisode(hook.id)]);
    expect(ends.filter((e) => e !== null)).toEqual([{ failedAttempts: 0, failedDeliveries: 0, noticedAt: 200 }]);
  });

  it("counts written by a process that did not see the episode end are not written over its end", async () => {
    const { open } = await database();
    const [a, b] = [(await open()).hooks, (await open()).hooks];
    const { hook } = await a.ensure("!r:x", "c", "@u:x");
    await b.find("!r:x", "c");
    await a.saveFailureEpisode(hook.id, { failedAttempts: 3, failedDeliveries: 1, noticedAt: null });
    expect(await a.claimFailureNotice(hook.id, 50)).toBe(true);
    await b.reload(hook.id);
    expect(await a.endFailureEpisode(hook.id)).toMatchObject({ noticedAt: 50 });
    // b still believes the room was told at 50: its counts go nowhere, and it reads what a wrote.
    await b.saveFailureEpisode(hook.id, { failedAttempts: 9, failedDeliveries: 2, noticedAt: 50 });
    expect(await b.failureEpisode(hook.id)).toEqual({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });
    expect(await (await open()).hooks.failureEpisode(hook.id)).toEqual({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });
  });
});

describe("outbound hook records of a process alone on PostgreSQL (role all)", () => {
  it("finds a hook it holds without a round trip, and one it does not hold in the table", async () => {
    const url = await freshDatabase("hooksalone");
    const key = randomBytes(32);
    const pool = await openPgStore({ url, poolSize: 2 });
    pools.push(pool);
    const first = await openOutboundHookRecords({ db: null as never, pool }, key, () => undefined);
    const { hook } = await first.hooks.ensure("!r:x", "ci", "@a:x");
    const statements = watchStatements(pool);
    const alone = await openOutboundHookRecords({ db: null as never, pool, alone: true }, key, () => undefined);
    statements.length = 0;
    expect((await alone.hooks.ensure("!r:x", "ci", "@a:x")).hook.id).toBe(hook.id);
    expect((await alone.hooks.find("!r:x", "ci"))?.id).toBe(hook.id);
    expect(statements).toEqual([]);
    // Made behind its back (never, alone; still read, not taken as absent).
    const { hook: later } = await first.hooks.ensure("!r:x", "deploy", "@a:x");
    statements.length = 0;
    expect((await alone.hooks.find("!r:x", "deploy"))?.id).toBe(later.id);
    expect(statements.filter((s) => s.text.startsWith("SELECT"))).toHaveLength(1);
  });
});
