// Change notices between processes over a real PostgreSQL: each feed has its own pool and
// listening connection, as a separate process would.
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PgChangeFeed, type StoreChange } from "./change-feed.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase } from "./pg-test-fixtures.js";

const opened: Array<{ pool: pg.Pool; feed: PgChangeFeed }> = [];

async function startProcess(url: string, errors: unknown[] = []): Promise<{ pool: pg.Pool; feed: PgChangeFeed; heard: StoreChange[] }> {
  const pool = await openPgStore({ url, poolSize: 2 });
  const feed = await PgChangeFeed.open(pool, { url, onError: (err) => errors.push(err) });
  const heard: StoreChange[] = [];
  feed.onChange((change) => heard.push(change));
  opened.push({ pool, feed });
  return { pool, feed, heard };
}

/** Polls (bounded: 10 s) until the check passes. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) if (check()) return true;
  return check();
}

afterEach(async () => {
  for (const { pool, feed } of opened.splice(0)) {
    await feed.close();
    await pool.end();
  }
});

describe("PgChangeFeed (real server)", () => {
  it("tells every other process what one changed, never the one that changed it", async () => {
    const url = await freshDatabase("feed");
    const [a, b, c] = [await startProcess(url), await startProcess(url), await startProcess(url)];
    a.feed.publish({ kind: "room", id: "!room:example.org" });
    a.feed.publish({ kind: "hook", id: "ep_0123" });
    b.feed.publish({ kind: "replies" });
    expect(await eventually(() => b.heard.length === 2 && c.heard.length === 3 && a.heard.length === 1)).toBe(true);
    // Each is sent on a connection of the pool: they need not arrive in the order sent (nothing depends on it).
    expect(b.heard).toEqual(expect.arrayContaining([{ kind: "room", id: "!room:example.org" }, { kind: "hook", id: "ep_0123" }]));
    expect(c.heard).toEqual(expect.arrayContaining([{ kind: "room", id: "!room:example.org" }, { kind: "hook", id: "ep_0123" }, { kind: "replies" }]));
    expect(a.heard).toEqual([{ kind: "replies" }]);
  });

  it("listens again after its connection was cut, and says to read everything again (what was announced meanwhile is gone)", async () => {
    const url = await freshDatabase("feed");
    const errors: unknown[] = [];
    const a = await startProcess(url);
    const b = await startProcess(url, errors);
    // Every listening connection but the one asking is cut, as a network blip or a restarted server would.
    await a.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
    expect(await eventually(() => b.heard.some((change) => change.kind === "resync"))).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    a.feed.publish({ kind: "hook", id: "ep_after" });
    expect(await eventually(() => b.heard.some((change) => change.kind === "hook" && change.id === "ep_after"))).toBe(true);
  });
});
