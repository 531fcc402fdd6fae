import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import { BATCH_SIZE_HEADER, batchBody, batchWebhookId, groupClaimed, type LaneBatching } from "./batch.js";
import { hookshotHeaders } from "./hookshot-headers.js";
import { ChurnMap } from "./churn-map.js";
import { classifyFailure } from "./failure-category.js";
import { nextStep, type RetryPolicy } from "./policy.js";
import type { AttemptRecord, ClaimedJob, DeliveryQueue } from "./queue/queue.js";
import { createReadStream } from "node:fs";
import type { HookBodies, HookBody, NoDelivery } from "../outbound/formats/hook-bodies.js";
import type { HttpSender, SendOutcome } from "./sender.js";
import { standardWebhookHeaders, webhookIdHeaders } from "./signing.js";
import type { DeliveryTarget, DeliveryTargets } from "./targets.js";

export interface DeliveryWorkerOptions {
  queue: DeliveryQueue;
  sender: HttpSender;
  targets: DeliveryTargets;
  /** Encodes each event for its hook's format (the event as JSON or multipart, or a chat platform's request). */
  bodies: HookBodies;
  /** What a receiver's 2xx answer leads to (a chat format's reply, stored before the delivery counts as done). */
  answers?: DeliveryAnswers;
  policy: RetryPolicy;
  timeoutMs: number;
  concurrency: number;
  /** A hook failing with no success for this long is disabled. */
  disableAfterFailingMs: number;
  userAgent: string;
  metrics: BridgeMetrics;
  log: Logger;
  random?: () => number;
  /**
   * Claim only jobs of hooks this process knows (it follows another process's rooms, and the queue
   * is shared): the others stay queued for a process that knows them, instead of being dropped.
   */
  knownHooksOnly?: boolean;
}

/**
 * Acts on a delivered job's 2xx answer. Resolves null when the delivery counts as done (a chat
 * reply it cannot use is its own business), or why the answer is unusable for the hook's protocol
 * (a callback's answer that is not Tencent's): the attempt then counts as failed. Throws only when
 * the answer could not be recorded (the delivery is retried).
 */
export interface DeliveryAnswers {
  accept(job: ClaimedJob, target: DeliveryTarget, outcome: SendOutcome): Promise<string | null>;
}

/**
 * Sends queued deliveries in three stages — prepare, send, record — with bounded concurrency.
 * Woken by enqueues and by a timer for the next due retry, so it never busy-polls. A hook may
 * hold at most a quarter of the slots, so one slow endpoint cannot delay the others.
 */
export class DeliveryWorker {
  private inFlight = 0;
  private readonly inFlightByHook = new ChurnMap<string, number>();
  /** Settles when the last attempt in flight finishes, once stop() waits for it. */
  private idle: { promise: Promise<void>; resolve: () => void } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wakeScheduled = false;
  /** A claim is out (claimDue is asynchronous): one pump at a time. */
  private pumping = false;
  private wakeAgain = false;
  private stopped = true;
  private readonly knownHook = (lane: string): boolean => this.opts.targets.knows(lane);
  private depthSampledAt = 0;
  private readonly claimBatch: number;
  private readonly perHookLimit: number;
  private readonly delivered;
  /** For callbacks that are not retried (Tencent's after-callbacks by default). */
  private readonly noRetries: RetryPolicy;
  /** Each batching hook's LaneBatching, made once per version of its settings (a state change makes a new hook object). */
  private readonly laneBatching = new WeakMap<ActiveOutboundHook, LaneBatching>();
  private readonly batching = (lane: string): LaneBatching | null => {
    const hook = this.opts.targets.batchingHook(lane);
    if (!hook?.batch) return null;
    let batching = this.laneBatching.get(hook);
    if (!batching) {
      const bodies = this.opts.bodies;
      batching = { ...hook.batch, alone: (job) => bodies.sendsAlone(job.body, hook) };
      this.laneBatching.set(hook, batching);
    }
    return batching;
  };

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.perHookLimit = Math.max(1, Math.floor(opts.concurrency / 4));
    this.claimBatch = Math.max(1, Math.floor(opts.concurrency / 8));
    this.delivered = opts.metrics.deliveries.labels({ outcome: "success" });
    this.noRetries = { ...opts.policy, retries: 0 };
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
    if (this.inFlight === 0) return;
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    await Promise.race([this.idle.promise, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
  }

  wake(): void {
    if (this.stopped) return;
    // A wake while a claim is out runs another pump once it is back (what woke us may be newer).
    if (this.pumping) {
      this.wakeAgain = true;
      return;
    }
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.pumping = true;
      this.pump().catch((err: unknown) => {
        // A store error must not take the process down: log it and look again shortly.
        this.opts.log.error({ err }, "delivery worker could not claim jobs; retrying in 1 s");
        this.retryLater(1000);
      }).finally(() => {
        this.pumping = false;
        if (this.wakeAgain) {
          this.wakeAgain = false;
          this.wake();
        }
      });
    });
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    const { queue, targets } = this.opts;
    const free = this.opts.concurrency - this.inFlight;
    // Claim in batches: each claim is a store transaction, so while work is in flight wait until
    // a few slots are free instead of claiming one job per finished attempt (a finishing attempt
    // wakes the worker again).
    if (free <= 0 || (this.inFlight > 0 && free < this.claimBatch)) return;
    const now = Date.now();
    const skipHooks = new Set(targets.suspendedHookIds());
    for (const [hookId, n] of this.inFlightByHook) if (n >= this.perHookLimit) skipHooks.add(hookId);
    const strictHooks = targets.strictlyOrderedHookIds();
    const batching = this.batching;
    const onlyHooks = this.opts.knownHooksOnly ? this.knownHook : undefined;
    const jobs = await queue.claimDue(free, { now, leaseMs: this.opts.timeoutMs + 30_000, skipHooks, perHookLimit: this.perHookLimit, strictHooks, batching, ...(onlyHooks ? { onlyHooks } : {}) });
    if (this.stopped) {
      // Stopped while the claim was out: its leases run out and the jobs go to the next claim.
      return;
    }
    for (const group of groupClaimed(jobs)) this.launch(group);
    // Counting pending jobs scans them: refresh the gauge once a second, not on every pump.
    if (now - this.depthSampledAt >= 1000) {
      this.depthSampledAt = now;
      this.opts.metrics.queueDepth.set(await queue.depth());
    }
    if (jobs.length === 0) await this.armTimer(now, { skipHooks, strictHooks, batching });
  }

  /** Sleeps until the next job a claim could take is due; held-back work is rechecked each second. */
  private async armTimer(now: number, claimable: { skipHooks: ReadonlySet<string>; strictHooks: ReadonlySet<string>; batching: (lane: string) => LaneBatching | null }): Promise<void> {
    const next = await this.opts.queue.nextDueAt(claimable);
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (next === null) {
      // Suspended and busy hooks' jobs wait for a resume or a completion; check now and then anyway.
      if (this.inFlight > 0 || (await this.opts.queue.depth()) > 0) this.retryLater(1000);
      return;
    }
    this.retryLater(next > now ? Math.min(Math.max(next - now, 5), 60_000) : 1000);
  }

  private retryLater(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake();
    }, delayMs);
  }

  /** One request: a job alone, or a batch (jobs tagged with one `batch`, even if only one). */
  private launch(jobs: ClaimedJob[]): void {
    const job = jobs[0]!;
    this.inFlight++;
    this.inFlightByHook.set(job.hookId, (this.inFlightByHook.get(job.hookId) ?? 0) + 1);
    const done = (): void => {
      this.inFlight--;
      const left = (this.inFlightByHook.get(job.hookId) ?? 1) - 1;
      if (left > 0) this.inFlightByHook.set(job.hookId, left);
      else this.inFlightByHook.delete(job.hookId);
      if (this.inFlight === 0 && this.idle) {
        this.idle.resolve();
        this.idle = null;
      }
      this.wake();
    };
    (jobs.length === 1 && !job.batch ? this.deliver(job) : this.deliverBatch(jobs)).then(done, (err: unknown) => {
      this.opts.log.error({ err, jobId: job.id }, "delivery bookkeeping failed; the job is retried after its lease");
      done();
    });
  }

  private async deliver(job: ClaimedJob): Promise<void> {
    const { queue, metrics, targets } = this.opts;
    const target = targets.resolve(job.hookId);
    if (!target) {
      queue.complete(job, { outcome: "dropped", status: null, error: "the hook was removed", durationMs: 0, responseBody: null });
      metrics.deliveries.inc({ outcome: "dropped" });
      return;
    }
    // Most deliveries are ready at once (JSON, or multipart without a file); media takes the long way.
    const plain = this.opts.bodies.plain(job, target);
    let rendered: HookBody;
    if (plain) rendered = plain;
    else {
      try {
        const prepared = await this.opts.bodies.render(job, target);
        if ("noDelivery" in prepared) return this.settleUnsent(job, target, prepared);
        rendered = prepared;
      } catch (err) {
        // Not the receiver's fault (e.g. the disk is full): retried like a failed attempt.
        const error = `could not prepare the delivery: ${(err as Error).message}`;
        this.record([job], target, { result: { kind: "network", error }, durationMs: 0, responseBody: null, error }, null);
        return;
      }
    }
    try {
      let outcome = await this.send(job, target, rendered);
      metrics.attemptSeconds.observe(outcome.durationMs / 1000);
      // The answer is acted on (a reply stored) before the delivery counts as done: a crash in
      // between retries the delivery, and the reply, named by the delivery, is stored once.
      const { result } = outcome;
      if (this.opts.answers && result.kind === "response" && result.status >= 200 && result.status < 300) {
        const unusable = await this.opts.answers.accept(job, target, outcome);
        if (unusable !== null) outcome = { ...outcome, result: { kind: "unusable", status: result.status, reason: unusable }, error: `unusable answer: ${unusable}` };
      }
      this.record([job], target, outcome, rendered.mediaError);
    } finally {
      if (!plain) await rendered.cleanup().catch((err) => this.opts.log.warn({ err }, "could not remove a temporary media file"));
    }
  }

  /**
   * A batch (docs/batching.md): each member's JSON as it would have been sent alone, in one JSON
   * array, under the batch's webhook-id; one attempt, recorded for every member. When the hook
   * changed since the claim (it no longer batches, or a member must now go alone), each goes alone.
   */
  private async deliverBatch(jobs: ClaimedJob[]): Promise<void> {
    const { queue, metrics, targets } = this.opts;
    const first = jobs[0]!;
    const target = targets.resolve(first.hookId);
    if (!target) {
      for (const job of jobs) queue.complete(job, { outcome: "dropped", status: null, error: "the hook was removed", durationMs: 0, responseBody: null });
      metrics.deliveries.inc({ outcome: "dropped" }, jobs.length);
      return;
    }
    let parts: string[] | null = target.hook.batch ? [] : null;
    try {
      for (const job of jobs) {
        if (parts === null) break;
        const part = await this.opts.bodies.batchPart(job, target);
        if (part === null) parts = null;
        else parts.push(part);
      }
    } catch (err) {
      const error = `could not prepare the delivery: ${(err as Error).message}`;
      this.record(jobs, target, { result: { kind: "network", error }, durationMs: 0, responseBody: null, error }, null);
      return;
    }
    if (parts === null) {
      for (const job of jobs) await this.deliver(job);
      return;
    }
    const rendered: HookBody = {
      body: { kind: "memory", body: batchBody(parts), contentType: "application/json" },
      headers: { [BATCH_SIZE_HEADER]: String(jobs.length) },
      mediaError: null,
      cleanup: async () => undefined,
    };
    const outcome = await this.send(first, target, rendered, first.batch?.id ?? batchWebhookId(jobs.map((j) => j.id)));
    metrics.attemptSeconds.observe(outcome.durationMs / 1000);
    this.record(jobs, target, outcome, null);
  }

  /** A job its hook sends nothing for: skipped (done, as "dropped"), or given up at once (a dead letter with the reason). */
  private settleUnsent(job: ClaimedJob, target: DeliveryTarget, unsent: NoDelivery): void {
    const { queue, metrics, log } = this.opts;
    const row = { status: null, error: unsent.reason, durationMs: 0, responseBody: null };
    if (unsent.noDelivery === "skip") {
      queue.complete(job, { ...row, outcome: "dropped" });
      metrics.deliveries.inc({ outcome: "dropped" });
      return;
    }
    queue.deadLetter(job, unsent.reason, { ...row, outcome: "failed" });
    metrics.deliveries.inc({ outcome: "failed" });
    log.warn({ jobId: job.id, hook: target.hook.name, roomId: job.roomId, eventId: job.eventId, reason: unsent.reason }, "delivery given up before sending");
  }

  /** `id`: the webhook-id, the job's own unless it goes in a batch. */
  private send(job: ClaimedJob, target: DeliveryTarget, rendered: HookBody, id = job.id): Promise<SendOutcome> {
    const body = rendered.body;
    const headers = hookshotHeaders({ eventId: job.eventId, roomId: job.roomId, token: target.token, userAgent: this.opts.userAgent, contentType: body.contentType });
    if (rendered.headers) Object.assign(headers, rendered.headers);
    if (target.signingSecrets.length === 0) return this.sendWith(headers, webhookIdHeaders(id), target, rendered);
    return standardWebhookHeaders({ id, secrets: target.signingSecrets, body: body.kind === "memory" ? body.body : body }).then((signed) =>
      this.sendWith(headers, signed, target, rendered),
    );
  }

  private sendWith(headers: Record<string, string>, idHeaders: Record<string, string>, target: DeliveryTarget, rendered: HookBody): Promise<SendOutcome> {
    const body = rendered.body;
    Object.assign(headers, idHeaders);
    if (body.kind === "file") headers["content-length"] = String(body.size);
    return this.opts.sender.send({
      url: rendered.url ?? target.url,
      method: target.hook.method,
      headers,
      body: body.kind === "memory" ? body.body : createReadStream(body.path),
      timeoutMs: target.hook.callback?.timeoutMs ?? this.opts.timeoutMs,
      ...(rendered.answerBytes !== undefined ? { maxResponseBytes: rendered.answerBytes } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
    });
  }

  /** One attempt's outcome, for each job it carried (one, or a batch's: retried or given up together). */
  private record(jobs: readonly ClaimedJob[], target: DeliveryTarget, outcome: SendOutcome, mediaError: string | null): void {
    const { queue, metrics, targets, log } = this.opts;
    const job = jobs[0]!;
    const now = Date.now();
    // A batch regrouped after a restart may hold jobs tried a different number of times: the most decides.
    const attempt = Math.max(...jobs.map((j) => j.attempts)) + 1;
    const policy = target.hook.callback?.retry === false ? this.noRetries : this.opts.policy;
    const step = nextStep(policy, attempt, outcome.result, outcome.error, now, this.opts.random);
    const status = outcome.result.kind === "response" || outcome.result.kind === "unusable" ? outcome.result.status : null;
    const error = mediaError ? (outcome.error ? `${outcome.error}; media: ${mediaError}` : `media: ${mediaError}`) : outcome.error;
    const row = (o: AttemptRecord["outcome"]): AttemptRecord => ({ outcome: o, status, error, durationMs: outcome.durationMs, responseBody: outcome.responseBody });
    const fields = {
      jobId: job.batch?.id ?? job.id, hook: target.hook.name, roomId: job.roomId, eventId: job.eventId, attempt, status, ms: outcome.durationMs,
      ...(jobs.length > 1 || job.batch ? { events: jobs.length } : {}),
    };

    if (step.action === "done") {
      for (const j of jobs) queue.complete(j, row("success"));
      targets.recordSuccess(job.hookId);
      this.delivered.inc(jobs.length);
      if (log.isLevelEnabled("debug")) log.debug(fields, "delivered");
      return;
    }
    const failingSince = targets.recordFailure(job.hookId, now, { category: classifyFailure(outcome), attempt, url: target.url });
    if (step.action === "retry") {
      for (const j of jobs) queue.retryAt(j, now + step.delayMs, row("retry"));
      metrics.deliveries.inc({ outcome: "retry" }, jobs.length);
      log.info({ ...fields, retryInMs: step.delayMs, error: outcome.error }, "delivery failed, will retry");
    } else {
      for (const j of jobs) queue.deadLetter(j, step.reason, row("failed"));
      metrics.deliveries.inc({ outcome: "failed" }, jobs.length);
      log.warn({ ...fields, reason: step.reason }, "delivery given up");
      if (step.action === "dead-letter") targets.gaveUp(job, target, step.reason);
    }
    // The store answers since when the hook fails in the background: the slot is free meanwhile.
    if (step.action === "disable") {
      void targets.disable(target, step.reason);
    } else {
      void failingSince.then((since) => {
        if (now - since < this.opts.disableAfterFailingMs) return;
        const hours = Math.round((now - since) / 3_600_000);
        return targets.disable(target, `its deliveries have failed for ${hours} hour${hours === 1 ? "" : "s"} without a single success`);
      });
    }
  }
}
