import { Worker } from "node:worker_threads";

/**
 * Starts the worker thread in `<name>.js` (compiled) or `<name>.ts` (from source: tests, tsx, run
 * with Node's type stripping) beside the module whose `import.meta.url` is `from`. Such a file must
 * be self-contained: Node loads it directly. The thread does not keep the process alive.
 */
export function startThread(name: string, from: string, workerData: unknown): Worker {
  const ext = from.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./${name}${ext}`, from), { workerData });
  worker.unref();
  return worker;
}

/** Asks the thread to close its connection and end, waiting at most `waitMs`, then makes sure it has. */
export async function stopThread(worker: Worker, stopMessage: unknown, waitMs: number): Promise<void> {
  worker.ref(); // until it has closed its connection
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.postMessage(stopMessage);
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
  await worker.terminate();
}
