import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { MIGRATIONS } from "./migrations.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store file at schema `version` (as an older bridge left it), holding the rows `sql` inserts. */
function storeAtVersion(version: number, sql: string): string {
  const dir = mkdtempSync(join(tmpdir(), "mwb-migrate-"));
  dirs.push(dir);
  const path = join(dir, "bridge.db");
  const old = new Database(path);
  for (const migration of MIGRATIONS.slice(0, version)) old.exec(migration);
  old.pragma(`user_version = ${version}`);
  old.exec(sql);
  old.close();
  return path;
}

describe("migration 4: integer-keyed delivery queue", () => {
  it("keeps pending and finished jobs, their events and attempts", () => {
    const path = storeAtVersion(3, `
      INSERT INTO messages VALUES ('$a', '!r:x', '{"event_id":"$a"}', 1), ('$b', '!r:x', '{"event_id":"$b"}', 2);
      INSERT INTO jobs (id, event_id, hook_id, room_id, state, attempts, due_at, created_at, finished_at, reason) VALUES
        ('msg_1', '$a', 'ep_x', '!r:x', 'done', 1, 1, 1, 5, NULL),
        ('msg_2', '$b', 'ep_x', '!r:x', 'pending', 2, 9, 2, NULL, NULL),
        ('msg_3', '$b', 'ep_y', '!r:x', 'dead', 5, 2, 2, 7, 'HTTP 404');
      INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at) VALUES
        ('msg_1', 'ep_x', '$a', 1, 'success', 200, NULL, 3, '', 5),
        ('msg_3', 'ep_y', '$b', 5, 'failed', 404, NULL, 4, 'nope', 7);
    `);
    const db = openDatabase(path);
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
      expect(db.prepare("SELECT m.event_id, j.hook_id, j.state, j.attempts, j.due_at, j.reason FROM jobs j JOIN messages m ON m.id = j.message_id ORDER BY j.id").all()).toEqual([
        { event_id: "$a", hook_id: "ep_x", state: "done", attempts: 1, due_at: 1, reason: null },
        { event_id: "$b", hook_id: "ep_x", state: "pending", attempts: 2, due_at: 9, reason: null },
        { event_id: "$b", hook_id: "ep_y", state: "dead", attempts: 5, due_at: 2, reason: "HTTP 404" },
      ]);
      expect(db.prepare("SELECT a.event_id, a.outcome, j.hook_id FROM attempts a JOIN jobs j ON j.id = a.job_id ORDER BY a.batch_id, a.seq").all()).toEqual([
        { event_id: "$a", outcome: "success", hook_id: "ep_x" },
        { event_id: "$b", outcome: "failed", hook_id: "ep_y" },
      ]);
      expect(db.pragma("foreign_key_check")).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe("migration 5: attempts stored in batches, events named by (origin_server_ts, event_id)", () => {
  it("keeps every attempt, shown one per row by the attempts view", () => {
    const path = storeAtVersion(4, `
      INSERT INTO messages (event_id, room_id, body, created_at) VALUES
        ('$a', '!r:x', '{"event_id":"$a","origin_server_ts":1700000000123}', 1),
        ('$b', '!r:x', '{"event_id":"$b"}', 2),
        ('$c', '!r:x', 'not json', 3);
      INSERT INTO jobs (message_id, hook_id, state, attempts, due_at, created_at) VALUES (1, 'ep_x', 'done', 2, 1, 1);
      INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at) VALUES
        (1, 'ep_x', '$a', 1, 'retry', NULL, 'ECONNREFUSED', 0, NULL, 5),
        (1, 'ep_x', '$a', 2, 'success', 200, NULL, 3, 'ok "quoted"', 9);
    `);
    const db = openDatabase(path);
    try {
      expect(db.prepare("SELECT job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at FROM attempts ORDER BY batch_id, seq").all()).toEqual([
        { job_id: 1, hook_id: "ep_x", event_id: "$a", attempt: 1, outcome: "retry", status: null, error: "ECONNREFUSED", duration_ms: 0, response_body: null, at: 5 },
        { job_id: 1, hook_id: "ep_x", event_id: "$a", attempt: 2, outcome: "success", status: 200, error: null, duration_ms: 3, response_body: 'ok "quoted"', at: 9 },
      ]);
      expect(db.prepare("SELECT hook_id, at, successes FROM attempt_batches ORDER BY id").all()).toEqual([
        { hook_id: "ep_x", at: 5, successes: 0 },
        { hook_id: "ep_x", at: 9, successes: 1 },
      ]);
      // Ids kept (jobs point at them); the timestamp read from the stored event, 0 when it has none.
      expect(db.prepare("SELECT id, event_id, origin_ts FROM messages ORDER BY id").all()).toEqual([
        { id: 1, event_id: "$a", origin_ts: 1700000000123 },
        { id: 2, event_id: "$b", origin_ts: 0 },
        { id: 3, event_id: "$c", origin_ts: 0 },
      ]);
      expect(db.prepare("SELECT m.event_id FROM jobs j JOIN messages m ON m.id = j.message_id").all()).toEqual([{ event_id: "$a" }]);
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      expect(db.pragma("foreign_key_check")).toEqual([]);
      // A foreign key still guards jobs: a job naming no message is refused.
      expect(() => db.prepare("INSERT INTO jobs (message_id, hook_id, due_at, created_at) VALUES (99, 'ep_x', 1, 1)").run()).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });
});

describe("migration 7: event ids beside handled transaction ids, follow-ups named by their event", () => {
  it("keeps handled ids (their events unknown) and pending follow-ups, once per event, in order", () => {
    const command = '{"event_id":"$c","type":"m.room.message"}';
    const path = storeAtVersion(6, `
      INSERT INTO handled_transactions VALUES ('t1', 5);
      INSERT INTO follow_ups (txn_id, seq, event, created_at) VALUES
        ('t1', 0, '${command}', 5), ('t1', 1, 'not json', 5), ('t2', 0, '${command}', 6), ('t2', 1, '{"event_id":"$d"}', 6);
    `);
    const db = openDatabase(path);
    try {
      expect(db.prepare("SELECT txn_id, handled_at, event_ids FROM handled_transactions").all()).toEqual([{ txn_id: "t1", handled_at: 5, event_ids: null }]);
      expect(db.prepare("SELECT event_id, txn_id, event, done_at FROM follow_ups ORDER BY id").all()).toEqual([
        { event_id: "$c", txn_id: "t1", event: command, done_at: null },
        { event_id: "t1#1", txn_id: "t1", event: "not json", done_at: null },
        { event_id: "$d", txn_id: "t2", event: '{"event_id":"$d"}', done_at: null },
      ]);
    } finally {
      db.close();
    }
  });
});

describe("migration 8: failure episodes of outbound hooks", () => {
  it("keeps the hooks, each starting with no failure episode", () => {
    const path = storeAtVersion(7, `
      INSERT INTO outbound_hooks (id, room_id, name, token_enc, created_by, created_at, failing_since) VALUES ('ep_x', '!r:x', 'ci', x'00', '@u:x', 1, 5);
    `);
    const db = openDatabase(path);
    try {
      expect(db.prepare("SELECT id, failing_since, consecutive_failures, failed_deliveries, failure_notice_at FROM outbound_hooks").all()).toEqual([
        { id: "ep_x", failing_since: 5, consecutive_failures: 0, failed_deliveries: 0, failure_notice_at: null },
      ]);
    } finally {
      db.close();
    }
  });
});

describe("migration 10: outbound hooks get a kind (hook or bot)", () => {
  it("keeps every hook and its signing keys as kind 'hook', and lets a bot share a hook's name", () => {
    const path = storeAtVersion(9, `
      INSERT INTO outbound_hooks (id, room_id, name, token_enc, created_by, created_at, failing_since, consecutive_failures, failure_notice_at)
        VALUES ('ep_x', '!r:x', 'ci', x'00', '@u:x', 1, 5, 3, 7);
      INSERT INTO signing_keys (hook_id, secret_enc, created_at) VALUES ('ep_x', x'01', 2);
    `);
    const db = openDatabase(path);
    try {
      expect(db.prepare("SELECT id, kind, name, failing_since, consecutive_failures, failure_notice_at FROM outbound_hooks").all()).toEqual([
        { id: "ep_x", kind: "hook", name: "ci", failing_since: 5, consecutive_failures: 3, failure_notice_at: 7 },
      ]);
      db.prepare("INSERT INTO outbound_hooks (id, room_id, kind, name, token_enc, created_by, created_at) VALUES ('bt_y', '!r:x', 'bot', 'ci', x'00', '@u:x', 1)").run();
      expect(() => db.prepare("INSERT INTO outbound_hooks (id, room_id, kind, name, token_enc, created_by, created_at) VALUES ('bt_z', '!r:x', 'bot', 'ci', x'00', '@u:x', 1)").run()).toThrow(/UNIQUE/);
      // The signing keys still belong to the hook, and go with it.
      db.prepare("DELETE FROM outbound_hooks WHERE id = 'ep_x'").run();
      expect(db.prepare("SELECT COUNT(*) AS n FROM signing_keys").get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});

describe("migration 12: inbound posts, with the delivery ids already posted", () => {
  it("moves inbound_deliveries' delivery ids into inbound_posts as posted, so their redeliveries still post nothing", () => {
    const path = storeAtVersion(11, `
      INSERT INTO inbound_deliveries (hook_id, delivery_key, event_id, at) VALUES ('ih_1', 'gh-1', '$a', 5), ('ih_2', 'gh-1', '$b', 6);
    `);
    const db = openDatabase(path);
    try {
      expect(db.prepare("SELECT hook_id, delivery_key, state, event_ids, done_at FROM inbound_posts ORDER BY seq").all()).toEqual([
        { hook_id: "ih_1", delivery_key: "gh-1", state: "posted", event_ids: '["$a"]', done_at: 5 },
        { hook_id: "ih_2", delivery_key: "gh-1", state: "posted", event_ids: '["$b"]', done_at: 6 },
      ]);
    } finally {
      db.close();
    }
  });
});
