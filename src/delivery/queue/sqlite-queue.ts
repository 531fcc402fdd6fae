import type { Db } from "../../store/database.js";
import { jobId } from "./job-id.js";
import type { AttemptRecord, ClaimedJob, DeliveryQueue, OutboundMessage } from "./queue.js";

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
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      txnSeen: db.prepare("SELECT 1 FROM handled_transactions WHERE txn_id = ?"),
      markTxn: db.prepare("INSERT OR IGNORE INTO handled_transactions (txn_id, handled_at) VALUES (?, ?)"),
      insertMessage: db.prepare("INSERT OR IGNORE INTO messages (event_id, room_id, body, created_at) VALUES (?, ?, ?, ?)"),
      insertJob: db.prepare("INSERT OR IGNORE INTO jobs (id, event_id, hook_id, room_id, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
      due: db.prepare(
        `SELECT j.id, j.event_id, j.hook_id, j.room_id, j.attempts, m.body FROM jobs j JOIN messages m ON m.event_id = j.event_id
         WHERE j.state = 'pending' AND j.due_at <= ? AND j.lease_until <= ? ORDER BY j.due_at, j.created_at LIMIT ?`,
      ),
      lease: db.prepare("UPDATE jobs SET lease_until = ? WHERE id = ?"),
      finish: db.prepare("UPDATE jobs SET state = ?, reason = ?, finished_at = ?, attempts = attempts + 1, lease_until = 0 WHERE id = ?"),
      reschedule: db.prepare("UPDATE jobs SET due_at = ?, lease_until = 0, attempts = attempts + 1 WHERE id = ?"),
      insertAttempt: db.prepare(
        `INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      nextDue: db.prepare<[], { due: number | null }>("SELECT MIN(MAX(due_at, lease_until)) AS due FROM jobs WHERE state = 'pending'"),
      depth: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state = 'pending'"),
      cancelHook: db.prepare("UPDATE jobs SET state = 'dropped', reason = ?, finished_at = ? WHERE hook_id = ? AND state = 'pending'"),
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

  claimDue(limit: number, opts: { now: number; leaseMs: number; busyHooks?: ReadonlySet<string>; perHookLimit?: number }): ClaimedJob[] {
    if (limit <= 0) return [];
    return this.db.transaction(() => {
      // Over-fetch so that jobs of busy hooks do not starve the others.
      const rows = this.stmt.due.all(opts.now, opts.now, limit * 4) as JobRow[];
      const perHook = new Map<string, number>();
      const claimed: ClaimedJob[] = [];
      for (const row of rows) {
        if (claimed.length >= limit) break;
        if (opts.busyHooks?.has(row.hook_id)) continue;
        const taken = perHook.get(row.hook_id) ?? 0;
        if (opts.perHookLimit !== undefined && taken >= opts.perHookLimit) continue;
        perHook.set(row.hook_id, taken + 1);
        this.stmt.lease.run(opts.now + opts.leaseMs, row.id);
        claimed.push({ id: row.id, eventId: row.event_id, hookId: row.hook_id, roomId: row.room_id, attempts: row.attempts, body: row.body });
      }
      return claimed;
    })();
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

  nextDueAt(): number | null {
    return this.stmt.nextDue.get()?.due ?? null;
  }

  depth(): number {
    return this.stmt.depth.get()?.n ?? 0;
  }

  cancelHook(hookId: string): number {
    return this.stmt.cancelHook.run("the hook was removed", Date.now(), hookId).changes;
  }

  /** Forgets finished jobs, their event bodies, attempts and handled transaction ids older than the cutoff. */
  prune(olderThan: number): void {
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
    this.db.transaction(() => {
      this.stmt.insertAttempt.run(job.id, job.hookId, job.eventId, job.attempts + 1, a.outcome, a.status, a.error, a.durationMs, a.responseBody, Date.now());
      change();
    })();
  }
}
