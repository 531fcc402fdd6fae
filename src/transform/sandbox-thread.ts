// The transformation-function thread: runs functions in the QuickJS sandbox off the main thread,
// so a function that spins until its time limit holds up no homeserver transaction and no post.
// Loaded by Node directly (compiled, or from source with type stripping): imports by file.
import { parentPort, workerData } from "node:worker_threads";

interface RunRequest {
  id: number;
  source: string;
  data: unknown;
}

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const { JsSandbox, TransformFailure } = (await import(new URL(`./sandbox${ext}`, import.meta.url).href)) as typeof import("./sandbox.js");
const sandbox = await JsSandbox.load(workerData as import("./sandbox.js").SandboxLimits);

parentPort!.on("message", (request: RunRequest) => {
  try {
    parentPort!.postMessage({ id: request.id, ok: true, value: sandbox.run(request.source, request.data) });
  } catch (err) {
    if (err instanceof TransformFailure) parentPort!.postMessage({ id: request.id, ok: false, kind: err.kind, message: err.message });
    else parentPort!.postMessage({ id: request.id, ok: false, kind: null, message: String((err as Error)?.message ?? err) });
  }
});
parentPort!.postMessage({ ready: true });
