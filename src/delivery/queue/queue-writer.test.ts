import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../store/database.js";
import { jobId } from "./job-id.js";
import { QueueWriter } from "./queue-writer.js";

describe("QueueWriter (real worker thread, real SQLite file)", () => {
  let dir = "";
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), "mwb-writer-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("stores a transaction's jobs and answers with their keys; a re-sent event gets none", async () => {
    const path = join(dir, "bridge.db");
    const db = openDatabase(path);
    const writer = new QueueWriter(path, "NORMAL", (m) => expect.fail(m));
    try {
      const { keys: first } = await writer.enqueue("t1", 1000, [{ eventId: "$a", originTs: 5, roomId: "!r", body: "{}", hookIds: ["ep_1", "ep_2"] }], [], ["$a"]);
      // Webhook-ids computed by the thread are the ones job-id.ts gives (receivers see the same id after a restart).
      expect(first).toEqual([[[1, jobId("$a", "ep_1")], [2, jobId("$a", "ep_2")]]]);
      const { keys: again } = await writer.enqueue("t2", 2000, [{ eventId: "$a", originTs: 5, roomId: "!r", body: "{}", hookIds: ["ep_1", "ep_3"] }], [], ["$a"]);
      expect(again).toEqual([[null, [3, jobId("$a", "ep_3")]]]);
      // Every kind of outcome and what it does to the job.
      const base = { eventId: "$a", error: null, durationMs: 2, responseBody: "", at: 3000 };
      await writer.writeOutcomes([
        { ...base, key: 1, hookId: "ep_1", attempt: 1, outcome: "success", status: 200, change: "finish", state: "done" },
        { ...base, key: 2, hookId: "ep_2", attempt: 1, outcome: "retry", status: null, error: "ECONNREFUSED", responseBody: null, change: "reschedule", dueAt: 9000 },
        { ...base, key: 3, hookId: "ep_3", attempt: 3, outcome: "failed", status: 404, responseBody: "no such hook", change: "finish", state: "dead", reason: "HTTP 404" },
      ]);
      expect(db.prepare("SELECT id, state, attempts, due_at, reason FROM jobs ORDER BY id").all()).toEqual([
        { id: 1, state: "done", attempts: 1, due_at: 1000, reason: null },
        { id: 2, state: "pending", attempts: 1, due_at: 9000, reason: null },
        { id: 3, state: "dead", attempts: 1, due_at: 2000, reason: "HTTP 404" },
      ]);
      expect(db.prepare("SELECT job_id, hook_id, attempt, outcome, status, error, response_body FROM attempts ORDER BY batch_id, seq").all()).toEqual([
        { job_id: 1, hook_id: "ep_1", attempt: 1, outcome: "success", status: 200, error: null, response_body: "" },
        { job_id: 2, hook_id: "ep_2", attempt: 1, outcome: "retry", status: null, error: "ECONNREFUSED", response_body: null },
        { job_id: 3, hook_id: "ep_3", attempt: 3, outcome: "failed", status: 404, error: null, response_body: "no such hook" },
      ]);
      expect(db.prepare("SELECT txn_id FROM handled_transactions ORDER BY txn_id").pluck().all()).toEqual(["t1", "t2"]);
    } finally {
      await writer.stop();
      db.close();
    }
  });

  it("fails requests with a clear error when its thread cannot open the store, and keeps trying", async () => {
    const errors: string[] = [];
    // A directory is not a database file: the thread dies at start.
    const writer = new QueueWriter(dir, "NORMAL", (m) => errors.push(m));
    try {
      for (let i = 0; i < 50 && !errors.some((e) => e.includes("starting it again")); i++) await new Promise((r) => setTimeout(r, 20));
      expect(errors.some((e) => e.includes("queue writer thread"))).toBe(true);
      await expect(writer.enqueue("t1", 1, [], [], [])).rejects.toThrow(/queue writer/);
    } finally {
      await writer.stop();
    }
  });
});
