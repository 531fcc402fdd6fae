// Runs in a worker thread (see wal-checkpointer.ts). Self-contained on purpose: Node loads this
// file directly (compiled, or as TypeScript with its built-in type stripping), with no bundler.
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma("busy_timeout = 5000");

// PASSIVE never waits for readers or writers: it copies what it can and tries again next time.
// After a large copy (the log is growing fast: a burst, a prune) the next one comes sooner.
const BUSY_FRAMES = 5000;
let timer: NodeJS.Timeout;
const checkpoint = (): void => {
  let copied = 0;
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)") as Array<{ checkpointed: number }>;
    copied = result?.checkpointed ?? 0;
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
  timer = setTimeout(checkpoint, copied >= BUSY_FRAMES ? Math.min(50, intervalMs) : intervalMs);
};
timer = setTimeout(checkpoint, intervalMs);

parentPort?.on("message", (message: unknown) => {
  if (message !== "stop") return;
  clearTimeout(timer);
  db.close();
  parentPort?.close();
});
