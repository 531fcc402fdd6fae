// Starts bench/receiver.ts as a child process and talks to it over IPC.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ReceiverMessage, ReceiverRequest, TagStats } from "./receiver.js";
import { sleep } from "./stats.js";

const SCRIPT = fileURLToPath(new URL("./receiver.ts", import.meta.url));

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
type Pending = { resolve: (stats: TagStats | undefined) => void; reject: (err: Error) => void };

export class ReceiverHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on("message", (m: ReceiverMessage) => {
      if (m.op !== "reply") return;
      this.pending.get(m.id)?.resolve(m.stats);
      this.pending.delete(m.id);
    });
    child.once("exit", (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`the receiver exited (code ${code}, signal ${signal})`));
      this.pending.clear();
    });
  }

  static async start(timeoutMs = 20_000): Promise<ReceiverHandle> {
    const child = fork(SCRIPT, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the receiver did not start within ${timeoutMs} ms`)), timeoutMs);
      child.on("message", (m: ReceiverMessage) => {
        if (m.op === "ready") {
          clearTimeout(timer);
          resolve(m.port);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the receiver exited during startup (code ${code})`));
      });
    }).catch((err: unknown) => {
      child.kill("SIGKILL");
      throw err;
    });
    return new ReceiverHandle(child, `http://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private ask(request: WithoutId<ReceiverRequest>, timeoutMs = 10_000): Promise<TagStats | undefined> {
    if (this.exited) return Promise.reject(new Error("the receiver is not running"));
    const id = this.nextId++;
    return new Promise<TagStats | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the receiver did not answer ${request.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (s) => (clearTimeout(timer), resolve(s)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ ...request, id } as ReceiverRequest);
    });
  }

  async stats(tag: string): Promise<TagStats> {
    return (await this.ask({ op: "stats", tag }))!;
  }

  async setDelay(ms: number): Promise<void> {
    await this.ask({ op: "delay", ms });
  }

  async forget(tag: string): Promise<void> {
    await this.ask({ op: "forget", tag });
  }

  /** Polls until `count` requests of `tag` arrived or the time is up; returns the last stats. */
  async waitFor(tag: string, count: number, timeoutMs: number, pollMs = 50): Promise<TagStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stats = await this.stats(tag);
      if (stats.count >= count || Date.now() >= deadline) return stats;
      await sleep(pollMs);
    }
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    await Promise.race([gone, sleep(5_000)]);
    if (!this.exited) this.child.kill("SIGKILL");
  }
}
