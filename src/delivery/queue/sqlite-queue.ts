import type { Db } from "../../store/database.js";
import { batchReadyAt, claimBatches } from "./batch-claim.js";
import { ChurnMap } from "../churn-map.js";
import { HookLane } from "./hook-lane.js";
import { jobId } from "./job-id.js";
import { PRUNED_TABLES, QueueWriter, type OutcomeWrite, type StoredJobs } from "./queue-writer.js";
import type {
  AttemptRecord, AttemptSummary, ClaimOptions, ClaimedJob, DeliveryQueue, FollowUp, HookQueueStatus, OutboundMessage, ReplayWhich, StoredTransaction, TransactionRecord,
} from "./queue.js";
import { handledEventIds } from "./queue.js";

interface JobRow {
  key: number;
  hook_id: string;
  attempts: number;
  due_at: number;
  event_id: string;
  room_id: string;
  body: string;
}

// Outcomes wait this long to be written together: a commit costs about as much for one outcome
// as for a thousand, and after a crash an unwritten outcome only means one more delivery.
const FLUSH_DELAY_MS = 50;

interface ReplaySource {
  key: number;
  message_id: number;
  state: string;
  event_id: string;
  room_id: string;
  body: string;
}

interface Lease {
  job: ClaimedJob;
  until: number;
}

export interface SqliteQueueOptions {
  /** At most this many pending jobs of one hook are held in memory; the rest wait in the file. */
  laneCapacity?: number;
  /**
   * At most about this many pending jobs of all hooks together are held in memory (plus
   * MIN_HELD_PER_LANE per hook, so that every hook keeps going however many others back up).
   */
  heldTotal?: number;
  /**
   * At most about this many characters of event JSON held in memory, all hooks together (each job
   * counts its event's JSON, though the jobs of one event queued together share it). Past it each
   * hook holds one job at least, not MIN_HELD_PER_LANE. Large events cannot then fill the heap
   * where a count of jobs would allow it.
   */
  heldBytes?: number;
  /** The writer thread's durability setting (the main connection's is set by openDatabase). */
  synchronous?: "NORMAL" | "FULL";
  /** Told when a background write of outcomes fails (it is tried again a second later). */
  onWriteError?: (err: unknown) => void;
}

/** Jobs any hook may hold whatever the global bound says: no hook waits because others backed up. */
export const MIN_HELD_PER_LANE = 8;

/** One attempt in an attempt_batches row (migration 5). */
type StoredAttempt = [jobKey: number, eventId: string, attempt: number, outcome: string, status: number | null, error: string | null, durationMs: number, responseBody: string | null, at: number];

/**
 * The embedded queue. The SQLite file is the truth: a job is written before its transaction is
 * acknowledged and stays (done/dead/dropped/replayed) until pruned. Memory holds each hook's next
 * pending jobs (see HookLane), so claiming reads no SQL. The hot writes — jobs and outcomes — go
 * through a writer thread with its own connection (QueueWriter); outcomes in batches every 50
 * milliseconds. One process per store file: leases live in memory and vanish with a killed
 * process, whose in-flight jobs are simply pending again when the next one starts.
 */
export class SqliteDeliveryQueue implements DeliveryQueue {
  private readonly listeners: Array<() => void> = [];
  // Entries come and go with every delivery: ChurnMap, not Map (see churn-map.ts).
  private readonly lanes = new ChurnMap<string, HookLane>();
  private readonly inFlight = new ChurnMap<number, Lease>();
  private readonly laneCapacity: number;
  private readonly heldTotal: number;
  private readonly heldBytesLimit: number;
  /** Bytes of event JSON of the jobs held (waiting, scheduled, in flight), counted per job. */
  private heldBytes = 0;
  private readonly onWriteError: (err: unknown) => void;
  private readonly writer: QueueWriter;
  private pendingCount: number;
  private nextLeaseCheck = 0;
  private rotation = 0;
  // Outcomes not yet handed to the writer, and those handed over but not yet committed: the file
  // is stale for these keys, so loading from it skips them (memory knows better).
  private pendingWrites: OutcomeWrite[] = [];
  private readonly unwritten = new ChurnMap<number, number>();
  private readonly writesInProgress = new ChurnMap<number, Promise<void>>();
  private writeSeq = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly stmt;

  constructor(private readonly db: Db, opts: SqliteQueueOptions = {}) {
    this.laneCapacity = Math.max(2, opts.laneCapacity ?? 4000);
    this.heldTotal = Math.max(1, opts.heldTotal ?? Infinity);
    this.heldBytesLimit = Math.max(1, opts.heldBytes ?? Infinity);
    this.onWriteError = opts.onWriteError ?? (() => undefined);
    this.writer = new QueueWriter(db.name, opts.synchronous ?? "NORMAL", (message) => this.onWriteError(new Error(message)));
    this.stmt = {
      txnSeen: db.prepare<[string], { event_ids: string | null }>("SELECT event_ids FROM handled_transactions WHERE txn_id = ?"),
      loadLane: db.prepare<[string, number, number], JobRow>(
        `SELECT j.id AS key, j.hook_id, j.attempts, j.due_at, m.event_id, m.room_id, m.body FROM jobs j JOIN messages m ON m.id = j.message_id
         WHERE j.hook_id = ? AND j.state = 'pending' AND j.id > ? ORDER BY j.id LIMIT ?`,
      ),
      hooksWithPending: db.prepare<[], { hook_id: string }>("SELECT DISTINCT hook_id FROM jobs WHERE state = 'pending'"),
      countPending: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state = 'pending'"),
      cancelHook: db.prepare("UPDATE jobs SET state = 'dropped', reason = ?, finished_at = ? WHERE hook_id = ? AND state = 'pending'"),
      finishedJobOfEvent: db.prepare<[number, string, string], ReplaySource>(
        `SELECT j.id AS key, j.message_id, j.state, m.event_id, m.room_id, m.body FROM jobs j JOIN messages m ON m.id = j.message_id
         WHERE m.origin_ts = ? AND m.event_id = ? AND j.hook_id = ? AND j.state IN ('done', 'dead', 'dropped') ORDER BY j.id DESC LIMIT 1`,
      ),
      deadJobOfHookByEvent: db.prepare<[string, string], ReplaySource>(
        `SELECT j.id AS key, j.message_id, j.state, m.event_id, m.room_id, m.body FROM jobs j JOIN messages m ON m.id = j.message_id
         WHERE j.hook_id = ? AND j.state = 'dead' AND m.event_id = ? ORDER BY j.id DESC LIMIT 1`,
      ),
      deadJobsOfHook: db.prepare<[string], ReplaySource>(
        `SELECT j.id AS key, j.message_id, j.state, m.event_id, m.room_id, m.body FROM jobs j JOIN messages m ON m.id = j.message_id
         WHERE j.hook_id = ? AND j.state = 'dead' ORDER BY j.id`,
      ),
      markReplayed: db.prepare("UPDATE jobs SET state = 'replayed' WHERE id = ? AND state IN ('dead', 'dropped')"),
      insertJob: db.prepare("INSERT INTO jobs (message_id, hook_id, due_at, created_at) VALUES (?, ?, ?, ?)"),
      pendingJobOfMessage: db.prepare<[number, string], { key: number }>("SELECT id AS key FROM jobs WHERE message_id = ? AND hook_id = ? AND state = 'pending'"),
      countHookState: db.prepare<[string, string], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE hook_id = ? AND state = ?"),
      countDelivered: db.prepare<[string], { n: number }>("SELECT COALESCE(SUM(successes), 0) AS n FROM attempt_batches WHERE hook_id = ?"),
      attemptBatchesNewestFirst: db.prepare<[string], { attempts: string }>("SELECT attempts FROM attempt_batches WHERE hook_id = ? ORDER BY id DESC"),
      bodyOfJob: db.prepare<[number], { body: string }>("SELECT m.body FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.id = ?"),
      pendingFollowUps: db.prepare<[], FollowUp>("SELECT event_id AS eventId, txn_id AS txnId, event FROM follow_ups WHERE done_at IS NULL ORDER BY id"),
    };
    this.pendingCount = this.stmt.countPending.get()?.n ?? 0;
    // Jobs left pending by the previous process (including those it had in flight) load on demand.
    for (const { hook_id } of this.stmt.hooksWithPending.all()) this.lane(hook_id).backlog = true;
  }

  async handledEvents(txnId: string): Promise<ReadonlySet<string> | null> {
    const row = this.stmt.txnSeen.get(txnId);
    return row ? handledEventIds(row.event_ids) : null;
  }

  /**
   * storeTransaction with jobs only, each message's event counted as handled: resolves with how
   * many new jobs. For tests and benchmarks; not part of the queue contract (the router stores
   * every event id and the follow-ups too).
   */
  async enqueue(txnId: string, messages: readonly OutboundMessage[]): Promise<number> {
    return (await this.storeTransaction({ txnId, eventIds: messages.map((m) => m.eventId), messages, followUps: [] })).jobs;
  }

  async storeTransaction({ txnId, eventIds, messages, followUps }: TransactionRecord): Promise<StoredTransaction> {
    const now = Date.now();
    const toStore = messages.filter((m) => m.hookIds.length > 0);
    let stored: StoredJobs;
    let newFollowUps: boolean[];
    try {
      ({ keys: stored, newFollowUps } = await this.writer.enqueue(txnId, now, toStore, followUps, eventIds));
    } catch (err) {
      // The writer may have committed before it failed to answer (its thread died): those jobs
      // are in the file only. Their hooks look there at their next claim, instead of at the next start.
      for (const message of toStore) for (const hookId of message.hookIds) this.lane(hookId).backlog = true;
      this.notify();
      throw err;
    }
    // Only once the jobs are committed do they become claimable.
    const fresh: ClaimedJob[] = [];
    toStore.forEach((message, m) => {
      message.hookIds.forEach((hookId, h) => {
        const job = stored[m]?.[h];
        if (!job) return;
        fresh.push({ key: job[0], id: job[1], eventId: message.eventId, hookId, roomId: message.roomId, attempts: 0, dueAt: now, body: message.body });
      });
    });
    this.admit(fresh, now);
    return { jobs: fresh.length, newFollowUps };
  }

  /** One process per file: every follow-up it queued is its own. */
  async ownsFollowUp(): Promise<boolean> {
    return true;
  }

  async pendingFollowUps(): Promise<FollowUp[]> {
    return this.stmt.pendingFollowUps.all();
  }

  followUpDone(eventId: string): Promise<void> {
    // On the writer thread: a write on this thread could wait for the writer's lock.
    return this.writer.followUpDone(eventId, Date.now());
  }

  async claimDue(limit: number, opts: ClaimOptions): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    const now = opts.now;
    this.expireLeases(now);
    const claimed: ClaimedJob[] = [];
    const lanes = [...this.lanes.values()];
    const budget = { left: this.heldTotal - this.heldNow() };
    // Start at a different hook each time, so no hook is always served first.
    const start = lanes.length > 0 ? this.rotation++ % lanes.length : 0;
    let deliveries = 0;
    for (let i = 0; i < lanes.length && deliveries < limit; i++) {
      const lane = lanes[(start + i) % lanes.length]!;
      if (opts.skipHooks?.has(lane.hookId)) continue;
      this.refillIfLow(lane, now, budget);
      const batching = opts.batching?.(lane.hookId) ?? null;
      if (batching) {
        const batches = claimBatches(lane, batching, opts, limit - deliveries, (job) => this.lease(lane, job, now + opts.leaseMs));
        claimed.push(...batches.jobs);
        deliveries += batches.deliveries;
        if (lane.resident === 0 && !lane.backlog) this.lanes.delete(lane.hookId);
        continue;
      }
      if (opts.strictHooks?.has(lane.hookId)) {
        // Strict order: the oldest pending job, and only when none of the hook's is in flight.
        if (lane.inFlight > 0) continue;
        const oldest = lane.oldestIfDue(now);
        if (oldest) {
          lane.takeOldest(oldest);
          claimed.push(this.lease(lane, oldest, now + opts.leaseMs));
          deliveries++;
        }
        continue;
      }
      lane.promoteDue(now);
      const max = Math.min(opts.perHookLimit ?? Infinity, limit - deliveries);
      for (let k = 0; k < max; k++) {
        const job = lane.take();
        if (!job) break;
        claimed.push(this.lease(lane, job, now + opts.leaseMs));
        deliveries++;
      }
      if (lane.resident === 0 && !lane.backlog) this.lanes.delete(lane.hookId);
    }
    return claimed;
  }

  complete(job: ClaimedJob, attempt: AttemptRecord): void {
    if (this.release(job)) this.letGo(job);
    const dropped = attempt.outcome === "dropped";
    this.record(job, attempt, { change: "finish", state: dropped ? "dropped" : "done", reason: dropped ? attempt.error : null });
  }

  retryAt(job: ClaimedJob, dueAt: number, attempt: AttemptRecord): void {
    if (this.release(job)) this.hold({ ...job, attempts: job.attempts + 1, dueAt });
    this.record(job, attempt, { change: "reschedule", dueAt });
  }

  deadLetter(job: ClaimedJob, reason: string, attempt: AttemptRecord): void {
    if (this.release(job)) this.letGo(job);
    this.record(job, attempt, { change: "finish", state: "dead", reason });
  }

  async nextDueAt(opts: Pick<ClaimOptions, "skipHooks" | "strictHooks" | "batching"> = {}): Promise<number | null> {
    let next = Infinity;
    const now = Date.now();
    const budget = { left: this.heldTotal - this.heldNow() };
    for (const lane of this.lanes.values()) {
      if (opts.skipHooks?.has(lane.hookId)) continue;
      // A lane that will load more from the file at its next claim has work now.
      if (this.refillWant(lane, budget.left) > 0) next = Math.min(next, now);
      const batching = opts.batching?.(lane.hookId) ?? null;
      const strict = opts.strictHooks?.has(lane.hookId) ?? false;
      if (batching) {
        if (!strict || lane.inFlight === 0) next = Math.min(next, batchReadyAt(lane, batching, now, strict));
      } else if (strict) {
        if (lane.inFlight === 0) next = Math.min(next, lane.oldestIfDue(Infinity)?.dueAt ?? Infinity);
      } else {
        next = Math.min(next, lane.nextDueAt() ?? Infinity);
      }
    }
    // A leased job comes back when its lease ends, if its worker never reports.
    for (const lease of this.inFlight.values()) next = Math.min(next, lease.until);
    return Number.isFinite(next) ? next : null;
  }

  async depth(): Promise<number> {
    return this.pendingCount;
  }

  async cancelHook(hookId: string): Promise<number> {
    // Outcomes not yet written would still be pending in the file: counted as cancelled here, and
    // already counted as finished in memory (depth below zero).
    await this.flush();
    const changed = this.stmt.cancelHook.run("the hook was removed", Date.now(), hookId).changes;
    this.pendingCount -= changed;
    this.heldBytes -= this.lanes.get(hookId)?.bytes ?? 0;
    this.lanes.delete(hookId);
    // Reports of its attempts still in flight no longer count (their writes only touch pending jobs).
    for (const [key, lease] of this.inFlight) if (lease.job.hookId === hookId) this.inFlight.delete(key);
    return changed;
  }

  /**
   * Queues finished deliveries again as new jobs (same webhook-id): one event's latest, or every
   * dead letter of the hook. Replayed dead letters are marked "replayed" and no longer count as dead.
   */
  async replay(hookId: string, which: ReplayWhich, now = Date.now()): Promise<number> {
    await this.flush();
    const fresh: ClaimedJob[] = [];
    // IMMEDIATE: the writer thread commits all the time, and a transaction that read first could
    // not start writing on its now stale snapshot (SQLITE_BUSY_SNAPSHOT, which no busy wait fixes).
    this.db.transaction(() => {
      const sources = !("eventId" in which)
        ? this.stmt.deadJobsOfHook.all(hookId)
        : which.originTs !== null
          ? this.stmt.finishedJobOfEvent.all(which.originTs, which.eventId, hookId)
          : this.stmt.deadJobOfHookByEvent.all(hookId, which.eventId);
      for (const source of sources) {
        // An event already waiting again (replayed twice) is not queued a third time.
        if (this.stmt.pendingJobOfMessage.get(source.message_id, hookId)) continue;
        this.stmt.markReplayed.run(source.key);
        const key = Number(this.stmt.insertJob.run(source.message_id, hookId, now, now).lastInsertRowid);
        fresh.push({ key, id: jobId(source.event_id, hookId), eventId: source.event_id, hookId, roomId: source.room_id, attempts: 0, dueAt: now, body: source.body });
      }
    }).immediate();
    this.admit(fresh, now);
    return fresh.length;
  }

  async eventForJob(jobKey: number): Promise<string | null> {
    return this.stmt.bodyOfJob.get(jobKey)?.body ?? null;
  }

  async hookStatus(hookId: string, recentAttempts: number): Promise<HookQueueStatus> {
    await this.flush();
    const recent: AttemptSummary[] = [];
    for (const { attempts } of this.stmt.attemptBatchesNewestFirst.iterate(hookId)) {
      const batch = JSON.parse(attempts) as StoredAttempt[];
      for (let i = batch.length - 1; i >= 0 && recent.length < recentAttempts; i--) {
        const [, eventId, attempt, outcome, status, error, durationMs, , at] = batch[i]!;
        recent.push({ eventId, attempt, outcome, status, error, durationMs, at });
      }
      if (recent.length >= recentAttempts) break;
    }
    return {
      pending: this.stmt.countHookState.get(hookId, "pending")?.n ?? 0,
      dead: this.stmt.countHookState.get(hookId, "dead")?.n ?? 0,
      delivered: this.stmt.countDelivered.get(hookId)?.n ?? 0,
      recent,
    };
  }

  /**
   * Forgets finished jobs, their event bodies, attempts and handled transaction ids older than the
   * cutoff. Runs on the writer thread in steps of about `budgetMs`, each a few windows of keys (one
   * short transaction each), so that a large backlog — the first prune after an upgrade, a busy
   * day — never holds a homeserver transaction up for long; it pauses as long between steps. Stops
   * early when the queue is closed. `window` overrides the keys per window (tests, benchmarks).
   * Resolves with the number of rows deleted.
   */
  async prune(olderThan: number, opts: { window?: number; budgetMs?: number } = {}): Promise<number> {
    const budgetMs = opts.budgetMs ?? 2;
    let deleted = 0;
    for (const table of PRUNED_TABLES) {
      // Every step moves past at least one window, and the writer ends the walk at the first young row or the last key.
      for (let after = 0, more = true; more && !this.closed; ) {
        const step = await this.writer.prune(table, olderThan, after, { window: opts.window, budgetMs });
        deleted += step.deleted;
        ({ after, more } = step);
        // As long a pause as the step: the writer stays free half the time for transactions.
        if (more) await new Promise((resolve) => setTimeout(resolve, budgetMs));
      }
    }
    return deleted;
  }

  onEnqueue(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once every outcome recorded so far is committed (bounded: gives up after 10 s). */
  async flush(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((this.pendingWrites.length > 0 || this.writesInProgress.size > 0) && Date.now() < deadline) {
      this.writePending();
      await Promise.race([Promise.allSettled([...this.writesInProgress.values()]), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
  }

  /** Writes what is left, then stops the writer thread. */
  async close(): Promise<void> {
    await this.flush();
    // From here on outcomes are not stored: their jobs stay pending in the file and are sent
    // again after a restart (at least once), which beats retrying against a stopped writer.
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.writer.stop();
  }

  /** New or replayed jobs, committed: held in memory unless their hook's lane is full. */
  private admit(jobs: readonly ClaimedJob[], now: number): void {
    this.pendingCount += jobs.length;
    let left = this.heldTotal === Infinity ? Infinity : this.heldTotal - this.heldNow();
    for (const job of jobs) {
      const lane = this.lane(job.hookId);
      // A key at or below the lane's range must be held (the invariant); above it, only with room
      // in the lane and in the global bounds (or while the lane holds less than its minimum).
      const room = !lane.backlog && lane.resident < this.laneCapacity && ((left > 0 && this.bytesLeft()) || lane.resident < this.minHeld());
      if (job.key <= lane.residentUpTo || room) {
        this.addHeld(lane, job, now);
        left--;
      } else lane.backlog = true;
    }
    if (jobs.length > 0) this.notify();
  }

  /** Keeps a job that is pending again (a retry, or an attempt that never reported) in its lane. */
  private hold(job: ClaimedJob): void {
    const lane = this.lane(job.hookId);
    lane.schedule(job);
  }

  private lane(hookId: string): HookLane {
    let lane = this.lanes.get(hookId);
    if (!lane) this.lanes.set(hookId, (lane = new HookLane(hookId)));
    return lane;
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Hands out a copy, so a report from an attempt whose lease ran out is told apart from the current one. */
  private lease(lane: HookLane, job: ClaimedJob, until: number): ClaimedJob {
    const claimed = { ...job };
    lane.inFlight++;
    this.inFlight.set(job.key, { job: claimed, until });
    return claimed;
  }

  /** Ends the job's lease; false when the report is stale (its lease ended or its hook was removed). */
  private release(job: ClaimedJob): boolean {
    if (this.inFlight.get(job.key)?.job !== job) return false;
    this.inFlight.delete(job.key);
    const lane = this.lanes.get(job.hookId);
    if (lane) lane.inFlight--;
    return true;
  }

  /** An attempt that never reported (hung past its lease) is handed out again. */
  private expireLeases(now: number): void {
    if (now < this.nextLeaseCheck) return;
    this.nextLeaseCheck = now + 1000;
    for (const [key, lease] of this.inFlight) {
      if (lease.until > now) continue;
      this.inFlight.delete(key);
      const lane = this.lanes.get(lease.job.hookId);
      if (lane) lane.inFlight--;
      this.hold({ ...lease.job });
    }
  }

  /**
   * Loads the next pending jobs of a hook from the file when its lane runs low. Jobs the file may
   * not be up to date on (in flight, outcome not yet written) are skipped: memory knows their state.
   */
  private refillIfLow(lane: HookLane, now: number, budget: { left: number }): void {
    const want = this.refillWant(lane, budget.left);
    if (want <= 0) return;
    const before = lane.resident;
    // Row by row: past the byte bound the rest stay in the file, unread (in key order:
    // residentUpTo stops at the last row looked at).
    let looked = 0;
    let stopped = false;
    for (const row of this.stmt.loadLane.iterate(lane.hookId, lane.residentUpTo, want)) {
      if (!this.bytesLeft() && lane.resident >= this.minHeld()) {
        stopped = true;
        break;
      }
      looked++;
      if (this.inFlight.has(row.key) || this.unwritten.has(row.key)) {
        lane.residentUpTo = row.key;
        continue;
      }
      this.addHeld(lane, { key: row.key, id: jobId(row.event_id, row.hook_id), eventId: row.event_id, hookId: row.hook_id, roomId: row.room_id, attempts: row.attempts, dueAt: row.due_at, body: row.body }, now);
    }
    if (!stopped && looked < want) lane.backlog = false;
    budget.left -= lane.resident - before;
  }

  /** How many jobs a lane would load from the file now: up to its capacity, within the global bound, at least up to its minimum. */
  private refillWant(lane: HookLane, globalLeft: number): number {
    if (!lane.backlog || lane.resident >= this.laneCapacity / 2) return 0;
    const byLane = this.laneCapacity - lane.resident;
    return Math.min(byLane, Math.max(this.bytesLeft() ? globalLeft : 0, this.minHeld() - lane.resident));
  }

  private bytesLeft(): boolean {
    return this.heldBytes < this.heldBytesLimit;
  }

  /**
   * Jobs a hook may hold whatever the global bounds say: MIN_HELD_PER_LANE, or one once the byte
   * bound is reached (1,000 hooks × 8 events of 64 KiB would be 500 MB), so that every hook still
   * keeps going.
   */
  private minHeld(): number {
    return this.bytesLeft() ? MIN_HELD_PER_LANE : 1;
  }

  /** A job comes into memory (fresh, replayed, or loaded from the file). */
  private addHeld(lane: HookLane, job: ClaimedJob, now: number): void {
    lane.add(job, now);
    lane.bytes += job.body.length;
    this.heldBytes += job.body.length;
  }

  /** A held job is finished (done, dropped, dead): it leaves memory. */
  private letGo(job: ClaimedJob): void {
    this.pendingCount--;
    const lane = this.lanes.get(job.hookId);
    if (lane) lane.bytes -= job.body.length;
    this.heldBytes -= job.body.length;
  }

  /** Jobs held in memory now, all hooks (waiting, scheduled, in flight); O(hooks), as a claim is. */
  private heldNow(): number {
    if (this.heldTotal === Infinity) return 0;
    let held = 0;
    for (const lane of this.lanes.values()) held += lane.resident;
    return held;
  }

  private record(job: ClaimedJob, a: AttemptRecord, change: Pick<OutcomeWrite, "change" | "state" | "reason" | "dueAt">): void {
    if (this.closed) return;
    this.pendingWrites.push({
      key: job.key, hookId: job.hookId, eventId: job.eventId, attempt: job.attempts + 1, outcome: a.outcome, status: a.status, error: a.error,
      durationMs: a.durationMs, responseBody: a.responseBody, at: Date.now(), ...change,
    });
    this.unwritten.set(job.key, (this.unwritten.get(job.key) ?? 0) + 1);
    if (this.pendingWrites.length >= 1000) this.writePending();
    else this.flushTimer ??= setTimeout(() => this.writePending(), FLUSH_DELAY_MS).unref();
  }

  /** Hands the outcomes recorded so far to the writer thread; a failed batch is kept and tried again. */
  private writePending(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pendingWrites.length === 0) return;
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    const write = this.writer.writeOutcomes(batch).then(
      () => {
        for (const o of batch) {
          const left = (this.unwritten.get(o.key) ?? 1) - 1;
          if (left > 0) this.unwritten.set(o.key, left);
          else this.unwritten.delete(o.key);
        }
      },
      (err: unknown) => {
        if (this.closed) return;
        this.pendingWrites = batch.concat(this.pendingWrites);
        this.onWriteError(err);
        this.flushTimer ??= setTimeout(() => this.writePending(), 1000).unref();
      },
    );
    const seq = ++this.writeSeq;
    this.writesInProgress.set(seq, write);
    void write.finally(() => this.writesInProgress.delete(seq));
  }
}

