import type { Db } from "../../store/database.js";
import { jobId } from "./job-id.js";
import type { AttemptRecord, AttemptSummary, ClaimOptions, ClaimedJob, DeliveryQueue, HookQueueStatus, OutboundMessage } from "./queue.js";

interface JobRow {
  id: string;
  event_id: string;
  hook_id: string;
  room_id: string;
  attempts: number;
  body: string;
}

/**
 * The embedded queue: jobs, attempts and dead letters in the bridge's SQLite file. Finished jobs
 * stay (state done/dead/dropped) until pruned, so a re-sent event is recognised and not sent again.
 */
export class SqliteDeliveryQueue implements DeliveryQueue {
  private readonly listeners: Array<() => void> = [];
  // Outcomes of attempts are written in batches (group commit): one store transaction per turn of
  // the event loop instead of one per delivery. A job whose outcome is not yet written keeps its
  // lease, so nothing claims it twice; after a crash it is simply delivered again.
  private pendingWrites: Array<() => void> = [];
  private flushScheduled = false;
  // Leases live in memory (jobId → until when): this process alone uses the store file, so a
  // claim is a plain read, with no write to commit. A killed process's leases vanish with it.
  private readonly leases = new Map<string, number>();
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      txnSeen: db.prepare("SELECT 1 FROM handled_transactions WHERE txn_id = ?"),
      markTxn: db.prepare("INSERT OR IGNORE INTO handled_transactions (txn_id, handled_at) VALUES (?, ?)"),
      insertMessage: db.prepare("INSERT OR IGNORE INTO messages (event_id, room_id, body, created_at) VALUES (?, ?, ?, ?)"),
      insertJob: db.prepare("INSERT OR IGNORE INTO jobs (id, event_id, hook_id, room_id, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
      due: db.prepare(
        `SELECT j.id, j.event_id, j.hook_id, j.room_id, j.attempts, m.body FROM jobs j JOIN messages m ON m.event_id = j.event_id
         WHERE j.state = 'pending' AND j.due_at <= ? AND j.hook_id NOT IN (SELECT value FROM json_each(?))
           AND j.id NOT IN (SELECT value FROM json_each(?))
         ORDER BY j.due_at, j.created_at LIMIT ?`,
      ),
      oldestOfHook: db.prepare(
        `SELECT j.id, j.event_id, j.hook_id, j.room_id, j.attempts, j.due_at, m.body FROM jobs j JOIN messages m ON m.event_id = j.event_id
         WHERE j.hook_id = ? AND j.state = 'pending' ORDER BY j.created_at, j.rowid LIMIT 1`,
      ),
      finish: db.prepare("UPDATE jobs SET state = ?, reason = ?, finished_at = ?, attempts = attempts + 1 WHERE id = ?"),
      reschedule: db.prepare("UPDATE jobs SET due_at = ?, attempts = attempts + 1 WHERE id = ?"),
      insertAttempt: db.prepare(
        `INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      nextDue: db.prepare<[string, string], { due: number | null }>(
        `SELECT MIN(due_at) AS due FROM jobs WHERE state = 'pending' AND hook_id NOT IN (SELECT value FROM json_each(?))
           AND id NOT IN (SELECT value FROM json_each(?))`,
      ),
      depth: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state = 'pending'"),
      cancelHook: db.prepare("UPDATE jobs SET state = 'dropped', reason = ?, finished_at = ? WHERE hook_id = ? AND state = 'pending'"),
      replayEvent: db.prepare(
        "UPDATE jobs SET state = 'pending', attempts = 0, due_at = ?, finished_at = NULL, reason = NULL WHERE id = ? AND state != 'pending'",
      ),
      replayDead: db.prepare(
        "UPDATE jobs SET state = 'pending', attempts = 0, due_at = ?, finished_at = NULL, reason = NULL WHERE hook_id = ? AND state = 'dead'",
      ),
      countByState: db.prepare<[string], { state: string; n: number }>("SELECT state, COUNT(*) AS n FROM jobs WHERE hook_id = ? GROUP BY state"),
      recentAttempts: db.prepare<[string, number], { event_id: string; attempt: number; outcome: string; status: number | null; error: string | null; duration_ms: number; at: number }>(
        "SELECT event_id, attempt, outcome, status, error, duration_ms, at FROM attempts WHERE hook_id = ? ORDER BY at DESC, id DESC LIMIT ?",
      ),
      pruneJobs: db.prepare("DELETE FROM jobs WHERE state != 'pending' AND finished_at < ?"),
      pruneMessages: db.prepare("DELETE FROM messages WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = messages.event_id)"),
      pruneAttempts: db.prepare("DELETE FROM attempts WHERE at < ?"),
      pruneTxns: db.prepare("DELETE FROM handled_transactions WHERE handled_at < ?"),
    };
  }

  isTransactionHandled(txnId: string): boolean {
    return this.stmt.txnSeen.get(txnId) !== undefined;
  }

  enqueue(txnId: string, messages: readonly OutboundMessage[]): number {
    const now = Date.now();
    const created = this.db.transaction(() => {
      let count = 0;
      for (const message of messages) {
        if (message.hookIds.length === 0) continue;
        this.stmt.insertMessage.run(message.eventId, message.roomId, message.body, now);
        for (const hookId of message.hookIds) {
          count += this.stmt.insertJob.run(jobId(message.eventId, hookId), message.eventId, hookId, message.roomId, now, now).changes;
        }
      }
      this.stmt.markTxn.run(txnId, now);
      return count;
    })();
    if (created > 0) for (const listener of this.listeners) listener();
    return created;
  }

  claimDue(limit: number, opts: ClaimOptions): ClaimedJob[] {
    if (limit <= 0) return [];
    this.flush();
    this.expireLeases(opts.now);
    const claimed: ClaimedJob[] = [];
    const take = (row: JobRow) => {
      this.leases.set(row.id, opts.now + opts.leaseMs);
      claimed.push({ id: row.id, eventId: row.event_id, hookId: row.hook_id, roomId: row.room_id, attempts: row.attempts, body: row.body });
    };
    for (const hookId of opts.strictHooks ?? []) {
      if (claimed.length >= limit || opts.skipHooks?.has(hookId)) continue;
      const head = this.stmt.oldestOfHook.get(hookId) as (JobRow & { due_at: number }) | undefined;
      if (head && head.due_at <= opts.now && !this.leases.has(head.id)) take(head);
    }
    const skip = JSON.stringify([...(opts.skipHooks ?? []), ...(opts.strictHooks ?? [])]);
    // Over-fetch so that one hook's many due jobs do not crowd out the others.
    const rows = this.stmt.due.all(opts.now, skip, this.leasedIds(), limit * 4) as JobRow[];
    const perHook = new Map<string, number>();
    for (const row of rows) {
      if (claimed.length >= limit) break;
      const taken = perHook.get(row.hook_id) ?? 0;
      if (opts.perHookLimit !== undefined && taken >= opts.perHookLimit) continue;
      perHook.set(row.hook_id, taken + 1);
      take(row);
    }
    return claimed;
  }

  private leasedIds(): string {
    return JSON.stringify([...this.leases.keys()]);
  }

  /** Leases whose worker never reported (a hung attempt) end, and their jobs become claimable. */
  private expireLeases(now: number): void {
    for (const [id, until] of this.leases) if (until <= now) this.leases.delete(id);
  }

  complete(job: ClaimedJob, attempt: AttemptRecord): void {
    const state = attempt.outcome === "dropped" ? "dropped" : "done";
    this.record(job, attempt, () => this.stmt.finish.run(state, attempt.outcome === "dropped" ? attempt.error : null, Date.now(), job.id));
  }

  retryAt(job: ClaimedJob, dueAt: number, attempt: AttemptRecord): void {
    this.record(job, attempt, () => this.stmt.reschedule.run(dueAt, job.id));
  }

  deadLetter(job: ClaimedJob, reason: string, attempt: AttemptRecord): void {
    this.record(job, attempt, () => this.stmt.finish.run("dead", reason, Date.now(), job.id));
  }

  nextDueAt(opts: Pick<ClaimOptions, "skipHooks" | "strictHooks"> = {}): number | null {
    this.flush();
    const skip = JSON.stringify([...(opts.skipHooks ?? []), ...(opts.strictHooks ?? [])]);
    let next = this.stmt.nextDue.get(skip, this.leasedIds())?.due ?? null;
    for (const hookId of opts.strictHooks ?? []) {
      if (opts.skipHooks?.has(hookId)) continue;
      const head = this.stmt.oldestOfHook.get(hookId) as { id: string; due_at: number } | undefined;
      if (head && !this.leases.has(head.id)) next = Math.min(next ?? Infinity, head.due_at);
    }
    // A leased job comes back when its lease ends, if its worker never reports.
    for (const until of this.leases.values()) next = Math.min(next ?? Infinity, until);
    return next;
  }

  depth(): number {
    this.flush();
    return this.stmt.depth.get()?.n ?? 0;
  }

  cancelHook(hookId: string): number {
    this.flush();
    return this.stmt.cancelHook.run("the hook was removed", Date.now(), hookId).changes;
  }

  replay(hookId: string, which: { eventId: string } | { dead: true }, now = Date.now()): number {
    this.flush();
    const changed = "eventId" in which ? this.stmt.replayEvent.run(now, jobId(which.eventId, hookId)).changes : this.stmt.replayDead.run(now, hookId).changes;
    if (changed > 0) for (const listener of this.listeners) listener();
    return changed;
  }

  eventForJob(jobId: string): string | null {
    this.flush();
    const row = this.db.prepare<[string], { body: string }>("SELECT m.body FROM jobs j JOIN messages m ON m.event_id = j.event_id WHERE j.id = ?").get(jobId);
    return row?.body ?? null;
  }

  hookStatus(hookId: string, recentAttempts: number): HookQueueStatus {
    this.flush();
    const counts = Object.fromEntries(this.stmt.countByState.all(hookId).map((r) => [r.state, r.n]));
    const recent: AttemptSummary[] = this.stmt.recentAttempts.all(hookId, recentAttempts).map((r) => ({
      eventId: r.event_id, attempt: r.attempt, outcome: r.outcome, status: r.status, error: r.error, durationMs: r.duration_ms, at: r.at,
    }));
    return { pending: counts.pending ?? 0, dead: counts.dead ?? 0, delivered: counts.done ?? 0, recent };
  }

  releaseLeases(): number {
    this.flush();
    const released = this.leases.size;
    this.leases.clear();
    return released;
  }


  /** Forgets finished jobs, their event bodies, attempts and handled transaction ids older than the cutoff. */
  prune(olderThan: number): void {
    this.flush();
    this.db.transaction(() => {
      this.stmt.pruneJobs.run(olderThan);
      this.stmt.pruneMessages.run(olderThan);
      this.stmt.pruneAttempts.run(olderThan);
      this.stmt.pruneTxns.run(olderThan);
    })();
  }

  onEnqueue(listener: () => void): void {
    this.listeners.push(listener);
  }

  private record(job: ClaimedJob, a: AttemptRecord, change: () => void): void {
    const at = Date.now();
    this.pendingWrites.push(() => {
      this.stmt.insertAttempt.run(job.id, job.hookId, job.eventId, job.attempts + 1, a.outcome, a.status, a.error, a.durationMs, a.responseBody, at);
      change();
      // Only once the outcome is written may the job be claimed again (a retry).
      this.leases.delete(job.id);
    });
    if (this.pendingWrites.length >= 1000) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes the outcomes recorded so far; every read calls it first, so reads see them. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pendingWrites.length === 0) return;
    this.db.transaction(() => this.applyPendingWrites())();
  }

  private applyPendingWrites(): void {
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    for (const write of batch) write();
  }
}
