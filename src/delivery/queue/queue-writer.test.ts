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
      const first = await writer.enqueue("t1", 1000, [{ eventId: "$a", roomId: "!r", body: "{}", hookIds: ["ep_1", "ep_2"] }]);
      // Webhook-ids computed by the thread are the ones job-id.ts gives (receivers see the same id after a restart).
      expect(first).toEqual([[[1, jobId("$a", "ep_1")], [2, jobId("$a", "ep_2")]]]);
      const again = await writer.enqueue("t2", 2000, [{ eventId: "$a", roomId: "!r", body: "{}", hookIds: ["ep_1", "ep_3"] }]);
      expect(again).toEqual([[null, [3, jobId("$a", "ep_3")]]]);
      await writer.writeOutcomes([{ key: 1, hookId: "ep_1", eventId: "$a", attempt: 1, outcome: "success", status: 200, error: null, durationMs: 2, responseBody: "", at: 3000, change: "finish", state: "done" }]);
      expect(db.prepare("SELECT id, state FROM jobs ORDER BY id").all()).toEqual([{ id: 1, state: "done" }, { id: 2, state: "pending" }, { id: 3, state: "pending" }]);
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
      await expect(writer.enqueue("t1", 1, [])).rejects.toThrow(/queue writer/);
    } finally {
      await writer.stop();
    }
  });
});
