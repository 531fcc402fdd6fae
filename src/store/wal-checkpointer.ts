import { Worker } from "node:worker_threads";
import type { Db } from "./database.js";

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
    // Compiled: the .js beside this file; from source (tests, tsx): the .ts, run with Node's type stripping.
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const worker = new Worker(new URL(`./wal-checkpoint-thread${ext}`, import.meta.url), {
      workerData: { path: db.name, intervalMs: opts.intervalMs ?? 500 },
    });
    worker.on("message", (m: { error?: string }) => m.error && opts.onError(m.error));
    worker.on("error", (err) => opts.onError(err.message));
    worker.unref();
    return new WalCheckpointer(worker);
  }

  /** Stops the thread (bounded wait); closing the last connection checkpoints what is left. */
  async stop(waitMs = 2000): Promise<void> {
    this.worker.ref(); // until it has closed its connection
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage("stop");
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([exited, timeout]);
    await this.worker.terminate();
  }
}
