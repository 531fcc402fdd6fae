import type { Worker } from "node:worker_threads";
import type { Db } from "./database.js";
import { startThread, stopThread } from "./worker-thread.js";

/**
 * Copies the write-ahead log back into the database file from a worker thread. Left to SQLite,
 * the checkpoint runs inside whichever commit crosses the WAL size limit (writing and syncing
 * megabytes), and on this bridge that commit is a homeserver transaction waiting for its 200.
 * The main connection keeps a high automatic limit as a fallback should this thread stop.
 */
export class WalCheckpointer {
  private constructor(private readonly worker: Worker) {}

  static start(db: Db, opts: { intervalMs?: number; fallbackPages?: number; onError: (message: string) => void }): WalCheckpointer {
    db.pragma(`wal_autocheckpoint = ${opts.fallbackPages ?? 20_000}`);
    const worker = startThread("wal-checkpoint-thread", import.meta.url, { path: db.name, intervalMs: opts.intervalMs ?? 500 });
    worker.on("message", (m: { error?: string }) => m.error && opts.onError(m.error));
    worker.on("error", (err) => opts.onError(err.message));
    return new WalCheckpointer(worker);
  }

  /** Stops the thread (bounded wait); closing the last connection checkpoints what is left. */
  stop(waitMs = 2000): Promise<void> {
    return stopThread(this.worker, "stop", waitMs);
  }
}
