// The one-time copy of the moved tables from a real SQLite file into a real PostgreSQL.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../database.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase } from "./pg-test-fixtures.js";
import { importMovedTables, MOVED_TABLES } from "./sqlite-import.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(): Promise<{ db: Db; pool: pg.Pool; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), "mwb-import-"));
  const db = openDatabase(join(dir, "bridge.db"));
  const url = await freshDatabase("import");
  const pool = await openPgStore({ url, poolSize: 2 });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => void db.close(), () => pool.end());
  return { db, pool, url };
}

function fillSqlite(db: Db, posts: number): void {
  db.prepare("INSERT INTO dm_rooms (user_id, room_id) VALUES (?, ?)").run("@admin:example.org", "!dm:example.org");
  db.prepare("INSERT INTO inbound_hooks (id, room_id, name, secret_hash, github_secret_enc, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .run("ih_1", "!room:example.org", "ci", Buffer.from([0, 1, 2, 255]), null, "@admin:example.org", 1_000);
  db.prepare("INSERT INTO inbound_deliveries (hook_id, delivery_key, event_id, at) VALUES (?, ?, ?, ?)").run("ih_1", "gh-1", "$e1", 2_000);
  const post = db.prepare("INSERT INTO inbound_posts (id, hook_id, room_id, delivery_key, parts, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  for (let i = 0; i < posts; i++) post.run(`ip_${i}`, "ih_1", "!room:example.org", null, JSON.stringify([{ body: `post ${i}` }]), 3_000 + i);
  db.prepare("INSERT INTO replies (job_id, hook_id, room_id, event_id, parts, created_at, done_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .run("msg_1", "ep_1", "!room:example.org", "$e2", "[]", 4_000, 4_001, "the room said \0no");
  db.prepare("INSERT INTO accepted_hook_state (room_id, event_type, state_key, event_id, content) VALUES (?, ?, ?, ?, ?)")
    .run("!room:example.org", "uk.half-shot.matrix-hookshot.outbound-hook", "ci", "$h1", JSON.stringify({ name: "ci", url: "https://example.org" }));
  db.prepare("INSERT INTO accepted_rooms (room_id, version) VALUES (?, ?)").run("!room:example.org", 7);
  // A row that is not JSON is copied as it is (and dropped when read).
  db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, ?)").run("!room:example.org", "[]", 5_000);
  db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, ?)").run("!bad:example.org", "not json", 5_001);
  fillOutboundHooks(db);
}

/** One hook with two signing keys made at the same ms (their order is kept) and a TLS part. */
function fillOutboundHooks(db: Db): void {
  db.prepare("INSERT INTO outbound_hooks (id, room_id, kind, name, token_enc, created_by, created_at, suspended_at, suspended_reason, failing_since, consecutive_failures, failed_deliveries, failure_notice_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .run("ep_1", "!room:example.org", "hook", "out", Buffer.from([9, 8, 7]), "@admin:example.org", 500, 600, "paused by @admin:example.org", 550, 3, 1, 560);
  const key = db.prepare("INSERT INTO signing_keys (hook_id, secret_enc, created_at, expires_at) VALUES (?, ?, ?, ?)");
  key.run("ep_1", Buffer.from("first"), 700, 9_000);
  key.run("ep_1", Buffer.from("second"), 700, null);
  db.prepare("INSERT INTO hook_tls (hook_id, part, pem_enc, set_by, set_at) VALUES (?, ?, ?, ?, ?)").run("ep_1", "ca", Buffer.from("pem"), "@admin:example.org", 800);
}

const NO_ROWS = Object.fromEntries(MOVED_TABLES.map((t) => [t.name, 0]));

describe("importMovedTables (real SQLite file, real server)", () => {
  it("copies every row once, keeps the posting order, and continues the sequences after the copied rows", async () => {
    const { db, pool } = await open();
    fillSqlite(db, 1_203); // more than two pages of 500
    const copied = await importMovedTables(pool, db);
    expect(Object.fromEntries(copied)).toEqual({ dm_rooms: 1, inbound_hooks: 1, inbound_deliveries: 1, inbound_posts: 1_203, replies: 1, accepted_hook_state: 1, accepted_rooms: 1, room_snapshots: 2, outbound_hooks: 1, signing_keys: 2, hook_tls: 1 });
    expect((await pool.query("SELECT id, kind, name, token_enc, suspended_at, failing_since, consecutive_failures, failed_deliveries, failure_notice_at FROM outbound_hooks")).rows).toEqual([
      { id: "ep_1", kind: "hook", name: "out", token_enc: Buffer.from([9, 8, 7]), suspended_at: 600, failing_since: 550, consecutive_failures: 3, failed_deliveries: 1, failure_notice_at: 560 },
    ]);
    expect((await pool.query("SELECT secret_enc, expires_at FROM signing_keys ORDER BY id")).rows).toEqual([
      { secret_enc: Buffer.from("first"), expires_at: 9_000 }, { secret_enc: Buffer.from("second"), expires_at: null },
    ]);
    expect((await pool.query("SELECT hook_id, part, set_at FROM hook_tls")).rows).toEqual([{ hook_id: "ep_1", part: "ca", set_at: 800 }]);
    expect((await pool.query("SELECT room_id, version FROM accepted_rooms")).rows).toEqual([{ room_id: "!room:example.org", version: 7 }]);
    expect((await pool.query("SELECT state, saved_at FROM room_snapshots ORDER BY saved_at")).rows).toEqual([{ state: "[]", saved_at: 5_000 }, { state: "not json", saved_at: 5_001 }]);

    const posts = await pool.query<{ seq: number; id: string; parts: string }>("SELECT seq, id, parts FROM inbound_posts ORDER BY seq");
    expect(posts.rows.map((r) => r.id)).toEqual(Array.from({ length: 1_203 }, (_, i) => `ip_${i}`));
    expect(posts.rows[0]!.parts).toBe(JSON.stringify([{ body: "post 0" }]));
    expect((await pool.query("SELECT error FROM replies")).rows).toEqual([{ error: "the room said \uFFFDno" }]);
    const hook = await pool.query<{ secret_hash: Buffer }>("SELECT secret_hash FROM inbound_hooks WHERE id = 'ih_1'");
    expect([...hook.rows[0]!.secret_hash]).toEqual([0, 1, 2, 255]);
    // A post stored after the copy comes after every copied one.
    const next = await pool.query<{ seq: number }>("INSERT INTO inbound_posts (id, hook_id, room_id, parts, created_at) VALUES ('ip_new', 'ih_1', '!r', '[]', 1) RETURNING seq");
    expect(next.rows[0]!.seq).toBe(1_204);
    const reply = await pool.query<{ id: number }>("INSERT INTO replies (job_id, hook_id, room_id, event_id, parts, created_at) VALUES ('msg_2', 'ep_1', '!r', '$e', '[]', 1) RETURNING id");
    expect(reply.rows[0]!.id).toBe(2);
  });

  it("copies nothing at a later start, from this file or another host's, and leaves what PostgreSQL has", async () => {
    const { db, pool } = await open();
    fillSqlite(db, 2);
    await importMovedTables(pool, db);
    await pool.query("DELETE FROM inbound_posts WHERE id = 'ip_0'"); // posted and pruned since
    db.prepare("INSERT INTO dm_rooms (user_id, room_id) VALUES ('@late:example.org', '!late:example.org')").run();
    expect((await importMovedTables(pool, db)).size).toBe(0);
    expect((await pool.query("SELECT id FROM inbound_posts")).rows).toEqual([{ id: "ip_1" }]);
    expect((await pool.query("SELECT count(*)::int AS n FROM dm_rooms")).rows[0]).toEqual({ n: 1 });
  });

  it("an upgrade from a database that copied the tables of migration 5 copies only the ones moved since", async () => {
    const { db, pool } = await open();
    fillSqlite(db, 2);
    const earlier = MOVED_TABLES.filter((t) => !["accepted_hook_state", "accepted_rooms", "room_snapshots", "outbound_hooks", "signing_keys", "hook_tls"].includes(t.name));
    expect((await importMovedTables(pool, db, earlier)).size).toBe(5);
    expect(Object.fromEntries(await importMovedTables(pool, db))).toEqual({ accepted_hook_state: 1, accepted_rooms: 1, room_snapshots: 2, outbound_hooks: 1, signing_keys: 2, hook_tls: 1 });
    expect((await pool.query("SELECT count(*)::int AS n FROM inbound_posts")).rows[0]).toEqual({ n: 2 });
    expect((await importMovedTables(pool, db)).size).toBe(0);
  });

  it("starts the sequences at 1 when the file had no rows", async () => {
    const { db, pool } = await open();
    expect(Object.fromEntries(await importMovedTables(pool, db))).toEqual(NO_ROWS);
    const next = await pool.query<{ seq: number }>("INSERT INTO inbound_posts (id, hook_id, room_id, parts, created_at) VALUES ('ip_a', 'ih_1', '!r', '[]', 1) RETURNING seq");
    expect(next.rows[0]!.seq).toBe(1);
  });

  it("copies once when two processes start at the same moment", async () => {
    const { db, pool, url } = await open();
    fillSqlite(db, 10);
    const other = await openPgStore({ url, poolSize: 2 });
    cleanups.push(() => other.end());
    const [a, b] = await Promise.all([importMovedTables(pool, db), importMovedTables(other, db)]);
    expect(a.size + b.size).toBe(MOVED_TABLES.length);
    expect((await pool.query("SELECT count(*)::int AS n FROM inbound_posts")).rows[0]).toEqual({ n: 10 });
  });
});
