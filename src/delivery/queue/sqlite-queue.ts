import type { Db } from "../../store/database.js";
import { HookLane } from "./hook-lane.js";
import { jobId } from "./job-id.js";
import type { AttemptRecord, AttemptSummary, ClaimOptions, ClaimedJob, DeliveryQueue, HookQueueStatus, OutboundMessage } from "./queue.js";

interface JobRow {
  key: number;
  hook_id: string;
  attempts: number;
  due_at: number;
  event_id: string;
  room_id: string;
  body: string;
}

const FLUSH_DELAY_MS = 10;

interface Lease {
  job: ClaimedJob;
  until: number;
}

export interface SqliteQueueOptions {
  /** At most this many pending jobs of one hook are held in memory; the rest wait in the file. */
  laneCapacity?: number;
  /** Told when a background write of outcomes fails (it is tried again a second later). */
  onWriteError?: (err: unknown) => void;
}

/**
 * The embedded queue. The SQLite file is the truth: a job is written before its transaction is
 * acknowledged and stays (done/dead/dropped) until pruned. Memory holds each hook's next pending
 * jobs (see HookLane), so claiming reads no SQL; outcomes are written in batches (group commit).
 * One process per store file: leases live in memory and vanish with a killed process, whose
 * in-flight jobs are simply pending again when the next one starts.
 */
export class SqliteDeliveryQueue implements DeliveryQueue {
  private readonly listeners: Array<() => void> = [];
  private readonly lanes = new Map<string, HookLane>();
  private readonly inFlight = new Map<number, Lease>();
  private readonly laneCapacity: number;
  private readonly onWriteError: (err: unknown) => void;
  private pendingCount: number;
  private nextLeaseCheck = 0;
  private rotation = 0;
  // Outcomes are written in batches every few milliseconds (or per 1000), not once per delivery:
  // a commit costs about as much for one outcome as for a hundred. After a crash an unwritten
  // outcome means the job is delivered again: at least once. Reads of job state flush first.
  private pendingWrites: Array<() => void> = [];
  private flushScheduled = false;
  private readonly stmt;

  constructor(private readonly db: Db, opts: SqliteQueueOptions = {}) {
    this.laneCapacity = Math.max(2, opts.laneCapacity ?? 1000);
    this.onWriteError = opts.onWriteError ?? (() => undefined);
    this.stmt = {
      txnSeen: db.prepare("SELECT 1 FROM handled_transactions WHERE txn_id = ?"),
      markTxn: db.prepare("INSERT OR IGNORE INTO handled_transactions (txn_id, handled_at) VALUES (?, ?)"),
      insertMessage: db.prepare("INSERT OR IGNORE INTO messages (event_id, room_id, body, created_at) VALUES (?, ?, ?, ?)"),
      messageByEvent: db.prepare<[string], { id: number }>("SELECT id FROM messages WHERE event_id = ?"),
      hooksOfMessage: db.prepare<[number], { hook_id: string }>("SELECT hook_id FROM jobs WHERE message_id = ?"),
      insertJob: db.prepare("INSERT INTO jobs (message_id, hook_id, due_at, created_at) VALUES (?, ?, ?, ?)"),
      loadLane: db.prepare<[string, number, number], JobRow>(
        `SELECT j.id AS key, j.hook_id, j.attempts, j.due_at, m.event_id, m.room_id, m.body FROM jobs j JOIN messages m ON m.id = j.message_id
         WHERE j.hook_id = ? AND j.state = 'pending' AND j.id > ? ORDER BY j.id LIMIT ?`,
      ),
      hooksWithPending: db.prepare<[], { hook_id: string }>("SELECT DISTINCT hook_id FROM jobs WHERE state = 'pending'"),
      countPending: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state = 'pending'"),
      finish: db.prepare("UPDATE jobs SET state = ?, reason = ?, finished_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
      reschedule: db.prepare("UPDATE jobs SET due_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
      insertAttempt: db.prepare(
        `INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      cancelHook: db.prepare("UPDATE jobs SET state = 'dropped', reason = ?, finished_at = ? WHERE hook_id = ? AND state = 'pending'"),
      finishedJobOfEvent: db.prepare<[string, string], { key: number }>(
        "SELECT j.id AS key FROM jobs j JOIN messages m ON m.id = j.message_id WHERE m.event_id = ? AND j.hook_id = ? AND j.state != 'pending'",
      ),
      deadJobsOfHook: db.prepare<[string], { key: number }>("SELECT id AS key FROM jobs WHERE hook_id = ? AND state = 'dead'"),
      replayJob: db.prepare("UPDATE jobs SET state = 'pending', attempts = 0, due_at = ?, finished_at = NULL, reason = NULL WHERE id = ? AND state != 'pending'"),
      countHookState: db.prepare<[string, string], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE hook_id = ? AND state = ?"),
      countDelivered: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM attempts WHERE hook_id = ? AND outcome = 'success'"),
      recentAttempts: db.prepare<[string, number], { event_id: string; attempt: number; outcome: string; status: number | null; error: string | null; duration_ms: number; at: number }>(
        "SELECT event_id, attempt, outcome, status, error, duration_ms, at FROM attempts WHERE hook_id = ? ORDER BY id DESC LIMIT ?",
      ),
      bodyOfJob: db.prepare<[number], { body: string }>("SELECT m.body FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.id = ?"),
      // Keys grow with time, so pruning deletes a range of keys below the first row to keep and
      // never scans the rows it keeps.
      pruneJobs: db.prepare(
        `DELETE FROM jobs WHERE id < COALESCE((SELECT id FROM jobs WHERE created_at >= @cutoff ORDER BY id LIMIT 1), 9223372036854775807)
           AND state != 'pending' AND finished_at < @cutoff`,
      ),
      pruneMessages: db.prepare(
        `DELETE FROM messages WHERE id < COALESCE((SELECT id FROM messages WHERE created_at >= @cutoff ORDER BY id LIMIT 1), 9223372036854775807)
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.message_id = messages.id)`,
      ),
      pruneAttempts: db.prepare("DELETE FROM attempts WHERE id < COALESCE((SELECT id FROM attempts WHERE at >= @cutoff ORDER BY id LIMIT 1), 9223372036854775807)"),
      pruneTxns: db.prepare("DELETE FROM handled_transactions WHERE handled_at < ?"),
    };
    this.pendingCount = this.stmt.countPending.get()?.n ?? 0;
    // Jobs left pending by the previous process (including those it had in flight) load on demand.
    for (const { hook_id } of this.stmt.hooksWithPending.all()) this.lane(hook_id).backlog = true;
  }

  isTransactionHandled(txnId: string): boolean {
    return this.stmt.txnSeen.get(txnId) !== undefined;
  }

  enqueue(txnId: string, messages: readonly OutboundMessage[]): number {
    const now = Date.now();
    const fresh: ClaimedJob[] = [];
    this.db.transaction(() => {
      for (const message of messages) {
        if (message.hookIds.length === 0) continue;
        const inserted = this.stmt.insertMessage.run(message.eventId, message.roomId, message.body, now);
        let messageId = Number(inserted.lastInsertRowid);
        let known: Set<string> | null = null;
        if (inserted.changes === 0) {
          // Seen before (a re-send): only hooks that have no job for it yet get one.
          messageId = this.stmt.messageByEvent.get(message.eventId)!.id;
          known = new Set(this.stmt.hooksOfMessage.all(messageId).map((r) => r.hook_id));
        }
        for (const hookId of message.hookIds) {
          if (known?.has(hookId)) continue;
          const key = Number(this.stmt.insertJob.run(messageId, hookId, now, now).lastInsertRowid);
          fresh.push({ key, id: jobId(message.eventId, hookId), eventId: message.eventId, hookId, roomId: message.roomId, attempts: 0, dueAt: now, body: message.body });
        }
      }
      this.stmt.markTxn.run(txnId, now);
    })();
    // Only once the jobs are committed do they become claimable.
    this.pendingCount += fresh.length;
    for (const job of fresh) {
      const lane = this.lane(job.hookId);
      if (!lane.backlog && lane.resident < this.laneCapacity) lane.add(job, now);
      else lane.backlog = true;
    }
    if (fresh.length > 0) this.notify();
    return fresh.length;
  }

  claimDue(limit: number, opts: ClaimOptions): ClaimedJob[] {
    if (limit <= 0) return [];
    const now = opts.now;
    this.expireLeases(now);
    const claimed: ClaimedJob[] = [];
    const lanes = [...this.lanes.values()];
    // Start at a different hook each time, so no hook is always served first.
    const start = lanes.length > 0 ? this.rotation++ % lanes.length : 0;
    for (let i = 0; i < lanes.length && claimed.length < limit; i++) {
      const lane = lanes[(start + i) % lanes.length]!;
      if (opts.skipHooks?.has(lane.hookId)) continue;
      this.refillIfLow(lane, now);
      if (opts.strictHooks?.has(lane.hookId)) {
        // Strict order: the oldest pending job, and only when none of the hook's is in flight.
        if (lane.inFlight > 0) continue;
        const oldest = lane.oldestIfDue(now);
        if (oldest) {
          lane.takeOldest(oldest);
          claimed.push(this.lease(lane, oldest, now + opts.leaseMs));
        }
        continue;
      }
      lane.promoteDue(now);
      const max = Math.min(opts.perHookLimit ?? Infinity, limit - claimed.length);
      for (let k = 0; k < max; k++) {
        const job = lane.take();
        if (!job) break;
        claimed.push(this.lease(lane, job, now + opts.leaseMs));
      }
      if (lane.resident === 0 && !lane.backlog) this.lanes.delete(lane.hookId);
    }
    return claimed;
  }

  complete(job: ClaimedJob, attempt: AttemptRecord): void {
    if (this.release(job)) this.pendingCount--;
    const state = attempt.outcome === "dropped" ? "dropped" : "done";
    const reason = attempt.outcome === "dropped" ? attempt.error : null;
    const at = Date.now();
    this.record(job, attempt, at, () => this.stmt.finish.run(state, reason, at, job.key));
  }

  retryAt(job: ClaimedJob, dueAt: number, attempt: AttemptRecord): void {
    if (this.release(job)) {
      const lane = this.lane(job.hookId);
      // A job above the lane's resident range is loaded from the file again when its turn comes.
      if (!(lane.backlog && job.key > lane.residentUpTo)) lane.schedule({ ...job, attempts: job.attempts + 1, dueAt });
    }
    this.record(job, attempt, Date.now(), () => this.stmt.reschedule.run(dueAt, job.key));
  }

  deadLetter(job: ClaimedJob, reason: string, attempt: AttemptRecord): void {
    if (this.release(job)) this.pendingCount--;
    const at = Date.now();
    this.record(job, attempt, at, () => this.stmt.finish.run("dead", reason, at, job.key));
  }

  nextDueAt(opts: Pick<ClaimOptions, "skipHooks" | "strictHooks"> = {}): number | null {
    let next = Infinity;
    for (const lane of this.lanes.values()) {
      if (opts.skipHooks?.has(lane.hookId)) continue;
      if (lane.backlog && lane.resident < this.laneCapacity / 2) next = Math.min(next, Date.now());
      if (opts.strictHooks?.has(lane.hookId)) {
        if (lane.inFlight === 0) next = Math.min(next, lane.oldestIfDue(Infinity)?.dueAt ?? Infinity);
      } else {
        next = Math.min(next, lane.nextDueAt() ?? Infinity);
      }
    }
    // A leased job comes back when its lease ends, if its worker never reports.
    for (const lease of this.inFlight.values()) next = Math.min(next, lease.until);
    return Number.isFinite(next) ? next : null;
  }

  depth(): number {
    return this.pendingCount;
  }

  cancelHook(hookId: string): number {
    this.flush();
    const changed = this.stmt.cancelHook.run("the hook was removed", Date.now(), hookId).changes;
    this.pendingCount -= changed;
    this.lanes.delete(hookId);
    // Reports of its attempts still in flight no longer count.
    for (const [key, lease] of this.inFlight) if (lease.job.hookId === hookId) this.inFlight.delete(key);
    return changed;
  }

  replay(hookId: string, which: { eventId: string } | { dead: true }, now = Date.now()): number {
    this.flush();
    const keys = ("eventId" in which ? this.stmt.finishedJobOfEvent.all(which.eventId, hookId) : this.stmt.deadJobsOfHook.all(hookId)).map((r) => r.key);
    if (keys.length === 0) return 0;
    let changed = 0;
    this.db.transaction(() => {
      for (const key of keys) changed += this.stmt.replayJob.run(now, key).changes;
    })();
    this.pendingCount += changed;
    // The replayed jobs are older than what the lane holds: reload it in key order from there.
    const lane = this.lane(hookId);
    lane.rewind(Math.min(...keys) - 1);
    this.notify();
    return changed;
  }

  eventForJob(jobKey: number): string | null {
    this.flush();
    return this.stmt.bodyOfJob.get(jobKey)?.body ?? null;
  }

  hookStatus(hookId: string, recentAttempts: number): HookQueueStatus {
    this.flush();
    const recent: AttemptSummary[] = this.stmt.recentAttempts.all(hookId, recentAttempts).map((r) => ({
      eventId: r.event_id, attempt: r.attempt, outcome: r.outcome, status: r.status, error: r.error, durationMs: r.duration_ms, at: r.at,
    }));
    return {
      pending: this.stmt.countHookState.get(hookId, "pending")?.n ?? 0,
      dead: this.stmt.countHookState.get(hookId, "dead")?.n ?? 0,
      delivered: this.stmt.countDelivered.get(hookId)?.n ?? 0,
      recent,
    };
  }

  /** Forgets finished jobs, their event bodies, attempts and handled transaction ids older than the cutoff. */
  prune(olderThan: number): void {
    this.flush();
    this.db.transaction(() => {
      this.stmt.pruneJobs.run({ cutoff: olderThan });
      this.stmt.pruneMessages.run({ cutoff: olderThan });
      this.stmt.pruneAttempts.run({ cutoff: olderThan });
      this.stmt.pruneTxns.run(olderThan);
    })();
  }

  onEnqueue(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Writes the outcomes recorded so far; every SQL read of job state calls it first. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pendingWrites.length === 0) return;
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    try {
      this.db.transaction(() => {
        for (const write of batch) write();
      })();
    } catch (err) {
      // Nothing of the batch was written (one transaction): keep it for the next flush.
      this.pendingWrites = batch.concat(this.pendingWrites);
      throw err;
    }
  }

  private flushInBackground(): void {
    if (!this.db.open) return; // closed by its owner, who flushed first
    try {
      this.flush();
    } catch (err) {
      this.onWriteError(err);
      setTimeout(() => this.flushInBackground(), 1000).unref();
    }
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
      const lane = this.lane(lease.job.hookId);
      lane.inFlight--;
      if (!(lane.backlog && key > lane.residentUpTo)) lane.schedule({ ...lease.job });
    }
  }

  /** Loads the next pending jobs of a hook from the file when its lane runs low. */
  private refillIfLow(lane: HookLane, now: number): void {
    if (!lane.backlog || lane.resident >= this.laneCapacity / 2) return;
    this.flush();
    const want = this.laneCapacity - lane.resident;
    const rows = this.stmt.loadLane.all(lane.hookId, lane.residentUpTo, want);
    for (const row of rows) {
      lane.residentUpTo = row.key;
      if (this.inFlight.has(row.key)) continue; // already out; it is resident as in flight
      lane.add({ key: row.key, id: jobId(row.event_id, row.hook_id), eventId: row.event_id, hookId: row.hook_id, roomId: row.room_id, attempts: row.attempts, dueAt: row.due_at, body: row.body }, now);
    }
    if (rows.length < want) lane.backlog = false;
  }

  private record(job: ClaimedJob, a: AttemptRecord, at: number, change: () => void): void {
    this.pendingWrites.push(() => {
      this.stmt.insertAttempt.run(job.key, job.hookId, job.eventId, job.attempts + 1, a.outcome, a.status, a.error, a.durationMs, a.responseBody, at);
      change();
    });
    if (this.pendingWrites.length >= 1000) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flushInBackground(), FLUSH_DELAY_MS);
    }
  }
}
