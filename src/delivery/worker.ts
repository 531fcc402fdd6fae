import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import { hookshotHeaders } from "./hookshot-headers.js";
import { classify, nextRetryDelayMs, type RetryPolicy } from "./policy.js";
import type { AttemptRecord, ClaimedJob, DeliveryQueue } from "./queue/queue.js";
import type { HttpSender, SendOutcome } from "./sender.js";

export interface DeliveryTarget {
  hook: ActiveOutboundHook;
  token: string;
}

export interface DeliveryWorkerOptions {
  queue: DeliveryQueue;
  sender: HttpSender;
  /** The hook's current settings and token, or null if it no longer exists. */
  resolveTarget(hookId: string): DeliveryTarget | null;
  /** Told when a delivery is given up (dead letter), to tell the room. */
  onGiveUp(job: ClaimedJob, target: DeliveryTarget, reason: string): void;
  policy: RetryPolicy;
  timeoutMs: number;
  concurrency: number;
  userAgent: string;
  metrics: BridgeMetrics;
  log: Logger;
  random?: () => number;
}

/**
 * Sends queued deliveries in three stages — prepare, send, record — with bounded concurrency.
 * Woken by enqueues and by a timer for the next due retry, so it never busy-polls. A hook may
 * hold at most a quarter of the slots, so one slow endpoint cannot delay the others.
 */
export class DeliveryWorker {
  private inFlight = 0;
  private readonly inFlightByHook = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private wakeScheduled = false;
  private stopped = true;
  private readonly perHookLimit: number;

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.perHookLimit = Math.max(1, Math.floor(opts.concurrency / 4));
    opts.queue.onEnqueue(() => this.wake());
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Stops claiming and waits (bounded) for attempts in flight; unfinished ones are re-run after their lease. */
  async stop(waitMs = 5000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  wake(): void {
    if (this.stopped || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const free = this.opts.concurrency - this.inFlight;
    const now = Date.now();
    const busy = new Set([...this.inFlightByHook].filter(([, n]) => n >= this.perHookLimit).map(([id]) => id));
    const jobs = free > 0 ? this.opts.queue.claimDue(free, { now, leaseMs: this.opts.timeoutMs + 30_000, busyHooks: busy, perHookLimit: this.perHookLimit }) : [];
    for (const job of jobs) this.launch(job);
    this.opts.metrics.queueDepth.set(this.opts.queue.depth());
    if (jobs.length === 0) this.armTimer(now);
  }

  private armTimer(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    const next = this.opts.queue.nextDueAt();
    if (next === null) return;
    // Jobs that are due but held back (busy hooks, no free slots) are retried when an attempt ends.
    if (next <= now && this.inFlight > 0) return;
    const delay = Math.min(Math.max(next - now, 10), 60_000);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake();
    }, delay);
  }

  private launch(job: ClaimedJob): void {
    this.inFlight++;
    this.inFlightByHook.set(job.hookId, (this.inFlightByHook.get(job.hookId) ?? 0) + 1);
    const run = this.deliver(job)
      .catch((err) => this.opts.log.error({ err, jobId: job.id }, "delivery bookkeeping failed; the job is retried after its lease"))
      .finally(() => {
        this.inFlight--;
        const left = (this.inFlightByHook.get(job.hookId) ?? 1) - 1;
        if (left > 0) this.inFlightByHook.set(job.hookId, left);
        else this.inFlightByHook.delete(job.hookId);
        this.running.delete(run);
        this.wake();
      });
    this.running.add(run);
  }

  private async deliver(job: ClaimedJob): Promise<void> {
    const { queue, metrics, log } = this.opts;
    const target = this.opts.resolveTarget(job.hookId);
    if (!target) {
      queue.complete(job, { outcome: "dropped", status: null, error: "the hook was removed", durationMs: 0, responseBody: null });
      metrics.deliveries.inc({ outcome: "dropped" });
      return;
    }
    const outcome = await this.opts.sender.send({
      url: target.hook.url,
      method: target.hook.method,
      headers: hookshotHeaders({ eventId: job.eventId, roomId: job.roomId, token: target.token, userAgent: this.opts.userAgent, contentType: "application/json" }),
      body: job.body,
      timeoutMs: this.opts.timeoutMs,
    });
    metrics.attemptSeconds.observe(outcome.durationMs / 1000);
    const verdict = classify(outcome.result);
    const record = (o: AttemptRecord["outcome"]): AttemptRecord => ({
      outcome: o,
      status: outcome.result.kind === "response" ? outcome.result.status : null,
      error: outcome.error,
      durationMs: outcome.durationMs,
      responseBody: outcome.responseBody,
    });
    const logFields = { jobId: job.id, hook: target.hook.name, roomId: job.roomId, eventId: job.eventId, attempt: job.attempts + 1, status: record("success").status, ms: outcome.durationMs };
    if (verdict === "success") {
      queue.complete(job, record("success"));
      metrics.deliveries.inc({ outcome: "success" });
      log.debug(logFields, "delivered");
      return;
    }
    const delay = verdict === "retry" ? nextRetryDelayMs(this.opts.policy, job.attempts + 1, this.opts.random) : null;
    if (delay !== null) {
      queue.retryAt(job, Date.now() + delay, record("retry"));
      metrics.deliveries.inc({ outcome: "retry" });
      log.info({ ...logFields, retryInMs: delay, error: outcome.error }, "delivery failed, will retry");
      return;
    }
    const reason = describeFailure(outcome, verdict === "retry" ? job.attempts + 1 : null);
    queue.deadLetter(job, reason, record("failed"));
    metrics.deliveries.inc({ outcome: "failed" });
    log.warn({ ...logFields, reason }, "delivery given up");
    this.opts.onGiveUp(job, target, reason);
  }
}

function describeFailure(outcome: SendOutcome, attemptsWhenExhausted: number | null): string {
  const what = outcome.result.kind === "response" ? `HTTP ${outcome.result.status}` : (outcome.error ?? "no answer");
  return attemptsWhenExhausted === null ? `the receiver answered ${what}, which is not retried` : `${what} after ${attemptsWhenExhausted} attempts`;
}
