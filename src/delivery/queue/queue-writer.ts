import type { Worker } from "node:worker_threads";
import { ChurnMap } from "../churn-map.js";
import { startThread, stopThread } from "../../store/worker-thread.js";
import { encodeOutcomes } from "./outcome-batch.js";
import type { AttemptRecord } from "./queue.js";

/** One message of a transaction, as the writer stores it. */
export interface WriterMessage {
  eventId: string;
  /** The event's origin_server_ts: with the event id, how a re-sent event is recognised. */
  originTs: number;
  roomId: string;
  body: string;
  hookIds: readonly string[];
}

/** An attempt's row and what it does to its job. */
export interface OutcomeWrite extends AttemptRecord {
  key: number;
  hookId: string;
  eventId: string;
  attempt: number;
  at: number;
  change: "finish" | "reschedule";
  state?: "done" | "dead" | "dropped";
  reason?: string | null;
  dueAt?: number;
}

/** Per message and hook: the new job's key and webhook-id, or null when it already had one. */
export type StoredJobs = Array<Array<[number, string] | null>>;

/** A follow-up to store, named by its event. */
export interface WriterFollowUp {
  eventId: string;
  event: string;
}

/** The tables the retention period applies to, in the order they are pruned (jobs before the events they need). */
export const PRUNED_TABLES = ["jobs", "messages", "attempt_batches", "handled_transactions", "follow_ups"] as const;
export type PrunedTable = (typeof PRUNED_TABLES)[number];

export interface PruneStep {
  deleted: number;
  after: number;
  more: boolean;
}

type Reply = { seq: number; keys?: StoredJobs; newFollowUps?: boolean[]; pruned?: PruneStep; error?: string };

/**
 * The main thread's handle on the queue writer thread (queue-writer-thread.ts), which owns the
 * hot writes on its own connection. Requests are answered in order; a thread that dies fails
 * what it had pending (the homeserver retries those transactions) and is started again.
 */
export class QueueWriter {
  private worker!: Worker;
  private seq = 0;
  // One entry per request in flight, many a second: ChurnMap, not Map (see churn-map.ts).
  private readonly waiting = new ChurnMap<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  private stopping = false;
  private alive = false;
  private restarts = 0;

  constructor(
    private readonly path: string,
    private readonly synchronous: "NORMAL" | "FULL",
    private readonly onError: (message: string) => void,
  ) {
    this.spawn();
  }

  /**
   * Stores a transaction's jobs and follow-ups and marks it handled with its events' ids (every
   * event handled under the id so far); resolves with the new jobs' keys and webhook-ids per
   * message and hook, and per follow-up whether it was new.
   */
  async enqueue(txnId: string, now: number, messages: readonly WriterMessage[], followUps: readonly WriterFollowUp[], eventIds: readonly string[]): Promise<{ keys: StoredJobs; newFollowUps: boolean[] }> {
    const reply = await this.request({ op: "enqueue", txnId, now, messages, followUps, eventIds: JSON.stringify(eventIds) });
    return { keys: reply.keys!, newFollowUps: reply.newFollowUps! };
  }

  /** Marks a follow-up done once its work has run. */
  async followUpDone(eventId: string, now: number): Promise<void> {
    await this.request({ op: "followUpDone", eventId, now });
  }

  async writeOutcomes(outcomes: readonly OutcomeWrite[]): Promise<void> {
    await this.request({ op: "outcomes", batch: encodeOutcomes(outcomes) });
  }

  /**
   * Deletes old rows of `table` with keys above `after`, a window of keys at a time (the thread's
   * size per table unless `window` is given), for about `budgetMs`. Resolves with how many, where
   * to go on from, and whether older rows may follow.
   */
  async prune(table: PrunedTable, cutoff: number, after: number, opts: { window?: number; budgetMs: number }): Promise<PruneStep> {
    return (await this.request({ op: "prune", table, cutoff, after, window: opts.window ?? null, budgetMs: opts.budgetMs })).pruned!;
  }

  async stop(waitMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.alive) await stopThread(this.worker, { op: "stop" }, waitMs);
  }

  private request(body: Record<string, unknown>): Promise<Reply> {
    if (this.stopping || !this.alive) return Promise.reject(new Error(this.stopping ? "the queue writer is stopped" : "the queue writer thread is restarting"));
    const seq = ++this.seq;
    return new Promise<Reply>((resolve, reject) => {
      // The thread keeps the process alive only while it has work to answer.
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ ...body, seq });
    }).then((reply) => {
      if (reply.error !== undefined) throw new Error(`the delivery queue could not be written: ${reply.error}`);
      return reply;
    });
  }

  private spawn(): void {
    const worker = startThread("queue-writer-thread", import.meta.url, { path: this.path, synchronous: this.synchronous });
    worker.on("message", (reply: Reply) => {
      const waiter = this.waiting.get(reply.seq);
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0) worker.unref();
      waiter?.resolve(reply);
    });
    worker.on("error", (err) => this.onError(`queue writer thread failed: ${err.message}`));
    worker.on("exit", (code) => {
      this.alive = false;
      const lost = [...this.waiting.values()];
      this.waiting.clear();
      for (const waiter of lost) waiter.reject(new Error(`the queue writer thread exited (code ${code})`));
      if (this.stopping) return;
      // Started again, a little later each time, so a thread that cannot open the file does not spin.
      const delay = Math.min(30_000, 100 * 2 ** Math.min(this.restarts++, 8));
      this.onError(`queue writer thread exited (code ${code}); starting it again in ${delay} ms`);
      setTimeout(() => {
        if (!this.stopping) this.spawn();
      }, delay).unref();
    });
    this.worker = worker;
    this.alive = true;
  }
}
