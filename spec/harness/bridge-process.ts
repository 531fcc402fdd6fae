// The bridge as a child process (tests that kill it with SIGKILL, benchmarks that read its RSS).
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { SHIPPED_NODE_FLAGS } from "../../src/runtime/node-flags.js";

export interface BridgeProcess {
  readonly pid: number;
  readonly url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Peak resident memory so far (VmHWM), in bytes; Linux only. */
  peakRssBytes(): Promise<number>;
}

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/**
 * Starts `main.ts` under tsx (or `entry`, a compiled main.js, with plain Node) with the given
 * files and waits (bounded) until /health answers. stdout/stderr go to `logPath`.
 */
export async function spawnBridge(opts: { configPath: string; registrationPath: string; port: number; logPath: string; readyTimeoutMs?: number; entry?: string; args?: readonly string[] }): Promise<BridgeProcess> {
  const out = createWriteStream(opts.logPath, { flags: "a" });
  const node = opts.entry ? [opts.entry] : ["--import", "tsx", MAIN];
  const child: ChildProcess = spawn(process.execPath, [...node, "-c", opts.configPath, "-r", opts.registrationPath, ...(opts.args ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
    // The heap flags production runs with, first in NODE_OPTIONS so that a benchmark's own
    // (BENCH_BRIDGE_NODE_OPTIONS, appended after them) win.
    env: { ...process.env, NODE_OPTIONS: [...SHIPPED_NODE_FLAGS, process.env.NODE_OPTIONS ?? ""].join(" ").trim() },
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`the bridge exited before it was ready; see ${opts.logPath}`);
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the bridge did not become healthy within ${opts.readyTimeoutMs ?? 30_000} ms; see ${opts.logPath}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    url,
    exited,
    async kill(signal = "SIGTERM") {
      if (!done) child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (!done) child.kill("SIGKILL");
      await exited;
    },
    async peakRssBytes() {
      const status = await readFile(`/proc/${child.pid}/status`, "utf8");
      const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
      return kb ? Number(kb) * 1024 : 0;
    },
  };
}
