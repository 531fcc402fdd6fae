import type { Worker } from "node:worker_threads";
import { startThread } from "../store/worker-thread.js";
import { TransformFailure, type SandboxLimits, type TransformFailureKind } from "./sandbox.js";

/** Runs waiting for the thread at most; more are refused (a failure the room is told of), not queued without end. */
export const MAX_WAITING_RUNS = 1000;
/** Beyond its time limit, how long a run may take before the thread is taken as hung and replaced. */
const WATCHDOG_GRACE_MS = 2000;

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; kind: TransformFailureKind | null; message: string };

interface Run {
  source: string;
  data: unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * The sandbox on its own thread (sandbox-thread.ts): one run at a time, in order. A run that does
 * not come back within its time limit plus a grace period (a hang the interrupt could not stop)
 * fails as a timeout, and the thread is replaced. The thread starts on first use and does not
 * keep the process alive.
 */
export class ThreadedSandbox {
  private worker: Worker | null = null;
  /** The thread once it said it is ready. */
  private started: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly waiting: Run[] = [];
  private current: (Run & { id: number; watchdog: NodeJS.Timeout }) | null = null;
  private nextId = 1;
  private readonly limits: SandboxLimits;

  constructor(limits: SandboxLimits) {
    this.limits = limits;
  }

  /** As JsSandbox.run: the function's result, or a TransformFailure. */
  run(source: string, data: unknown): Promise<unknown> {
    if (this.waiting.length >= MAX_WAITING_RUNS) {
      return Promise.reject(new TransformFailure("busy", `the bridge has ${MAX_WAITING_RUNS} transformation functions waiting to run; this one was not run`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ source, data, resolve, reject });
      this.pump();
    });
  }

  /** Ends the thread (runs waiting fail); the next run starts a new one. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.fail(new Error("the transformation-function thread was stopped"));
    await worker?.terminate();
  }

  private pump(): void {
    if (this.current || this.waiting.length === 0) return;
    const ready = this.ensureThread();
    ready.then(
      () => this.send(),
      // The thread could not start: the runs waiting for it fail (unless a newer thread took over).
      (err: unknown) => {
        if (this.ready === null || this.ready === ready) this.fail(err);
      },
    );
  }

  private send(): void {
    if (this.current || !this.worker) return;
    const run = this.waiting.shift();
    if (!run) return;
    const id = this.nextId++;
    // A run may spend its time limit compiling and again running.
    const watchdog = setTimeout(() => this.hung(id), 2 * this.limits.timeoutMs + WATCHDOG_GRACE_MS);
    watchdog.unref();
    this.current = { ...run, id, watchdog };
    this.worker.postMessage({ id, source: run.source, data: run.data });
  }

  private ensureThread(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = startThread("sandbox-thread", import.meta.url, this.limits);
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (message: Answer | { ready: true }) => {
        if ("ready" in message) {
          this.started = worker;
          resolve();
        } else this.answered(message);
      });
      worker.once("error", (err) => {
        reject(err);
        this.lost(worker, err);
      });
      worker.once("exit", (code) => {
        const err = new Error(`the transformation-function thread exited (code ${code})`);
        reject(err);
        this.lost(worker, err);
      });
    });
    return this.ready;
  }

  private answered(answer: Answer): void {
    const run = this.current;
    if (!run || run.id !== answer.id) return;
    clearTimeout(run.watchdog);
    this.current = null;
    if (answer.ok) run.resolve(answer.value);
    else run.reject(answer.kind ? new TransformFailure(answer.kind, answer.message) : new Error(answer.message));
    this.send();
  }

  /** The run did not come back: it fails as a timeout, the thread is replaced, the rest go on. */
  private hung(id: number): void {
    const run = this.current;
    if (!run || run.id !== id) return;
    this.current = null;
    run.reject(new TransformFailure("timeout", "the function ran out of time (it did not stop at the time limit; its thread was replaced)"));
    this.forget();
    this.pump();
  }

  /**
   * The thread died (or was terminated): the run under way fails, and the next one gets a new
   * thread. One that died before it was ready fails its waiting runs through pump's rejection.
   */
  private lost(worker: Worker, err: unknown): void {
    if (this.worker !== worker) return;
    const wasReady = this.started === worker;
    this.forget();
    const run = this.current;
    this.current = null;
    if (run) {
      clearTimeout(run.watchdog);
      run.reject(err);
    }
    if (wasReady) this.pump();
  }

  /** Drops the thread (ending it, if it still runs); the next run starts a new one. */
  private forget(): void {
    const worker = this.worker;
    this.worker = null;
    this.ready = null;
    this.started = null;
    if (worker) void worker.terminate();
  }

  private fail(err: unknown): void {
    const run = this.current;
    this.current = null;
    if (run) {
      clearTimeout(run.watchdog);
      run.reject(err);
    }
    for (const waiting of this.waiting.splice(0)) waiting.reject(err);
    this.forget();
  }
}
