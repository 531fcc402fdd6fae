// Shared by the queue's tests: a queue on a real SQLite file in a temp dir, and attempt outcomes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../../store/database.js";
import type { AttemptRecord } from "./queue.js";
import { SqliteDeliveryQueue } from "./sqlite-queue.js";

export const TS = 1_700_000_000_000;
export const ok: AttemptRecord = { outcome: "success", status: 200, error: null, durationMs: 3, responseBody: "" };
export const fail: AttemptRecord = { outcome: "retry", status: 500, error: null, durationMs: 3, responseBody: "boom" };

export interface QueueOnFile {
  dir: string;
  db: Db;
  queue: SqliteDeliveryQueue;
}

export function openQueueOnFile(prefix: string): QueueOnFile {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = openDatabase(join(dir, "bridge.db"));
  return { dir, db, queue: new SqliteDeliveryQueue(db) };
}

/** Closes the queue and the file (as the test left them: it may have opened others) and removes the dir. */
export async function closeQueueOnFile({ dir, db, queue }: QueueOnFile): Promise<void> {
  await queue.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
