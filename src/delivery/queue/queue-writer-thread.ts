// Runs in a worker thread (see queue-writer.ts): the delivery queue's hot writes — a homeserver
// transaction's jobs, and batches of attempt outcomes — on their own SQLite connection, so their
// commits never hold up the event loop that answers the homeserver and sends deliveries.
// Self-contained on purpose: Node loads this file directly (compiled, or as TypeScript with its
// built-in type stripping). The message shapes are declared in queue-writer.ts.
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

interface EnqueueMessage { eventId: string; roomId: string; body: string; hookIds: string[] }
interface Outcome {
  key: number; hookId: string; eventId: string; attempt: number; outcome: string; status: number | null; error: string | null;
  durationMs: number; responseBody: string | null; at: number;
  /** "finish": the job ends in `state`; "reschedule": it is due again at `dueAt`. */
  change: "finish" | "reschedule"; state?: string; reason?: string | null; dueAt?: number;
}
type Request =
  | { op: "enqueue"; seq: number; txnId: string; now: number; messages: EnqueueMessage[] }
  | { op: "outcomes"; seq: number; outcomes: Outcome[] }
  | { op: "stop" };

const { path, synchronous } = workerData as { path: string; synchronous: string };
const db = new Database(path);
db.pragma(`synchronous = ${synchronous === "FULL" ? "FULL" : "NORMAL"}`);
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = 5000");
// Checkpoints are the checkpointer thread's job; this is only a fallback should it stop.
db.pragma("wal_autocheckpoint = 20000");

const stmt = {
  markTxn: db.prepare("INSERT OR IGNORE INTO handled_transactions (txn_id, handled_at) VALUES (?, ?)"),
  insertMessage: db.prepare("INSERT OR IGNORE INTO messages (event_id, room_id, body, created_at) VALUES (?, ?, ?, ?)"),
  messageByEvent: db.prepare("SELECT id FROM messages WHERE event_id = ?").pluck(),
  hooksOfMessage: db.prepare("SELECT hook_id FROM jobs WHERE message_id = ? AND state != 'replayed'").pluck(),
  insertJob: db.prepare("INSERT INTO jobs (message_id, hook_id, due_at, created_at) VALUES (?, ?, ?, ?)"),
  finish: db.prepare("UPDATE jobs SET state = ?, reason = ?, finished_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
  reschedule: db.prepare("UPDATE jobs SET due_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
  insertAttempt: db.prepare(
    `INSERT INTO attempts (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
};

/** The webhook-id: the same function as job-id.ts (computed here to spare the main thread). */
function webhookId(eventId: string, hookId: string): string {
  return "msg_" + createHash("sha256").update(eventId).update("\0").update(hookId).digest("base64url").slice(0, 32);
}

/**
 * Stores the jobs and marks the transaction handled, atomically. Per message and hook: the new
 * job's key and webhook-id, or null when it already had one.
 */
const enqueue = db.transaction((txnId: string, now: number, messages: EnqueueMessage[]): Array<Array<[number, string] | null>> => {
  const keys: Array<Array<[number, string] | null>> = [];
  for (const message of messages) {
    const inserted = stmt.insertMessage.run(message.eventId, message.roomId, message.body, now);
    let messageId = Number(inserted.lastInsertRowid);
    let known: Set<unknown> | null = null;
    if (inserted.changes === 0) {
      // Seen before (a re-send): only hooks that have no job for it yet get one.
      messageId = stmt.messageByEvent.get(message.eventId) as number;
      known = new Set(stmt.hooksOfMessage.all(messageId));
    }
    keys.push(message.hookIds.map((hookId) => (known?.has(hookId) ? null : [Number(stmt.insertJob.run(messageId, hookId, now, now).lastInsertRowid), webhookId(message.eventId, hookId)])));
  }
  stmt.markTxn.run(txnId, now);
  return keys;
});

const writeOutcomes = db.transaction((outcomes: Outcome[]) => {
  for (const o of outcomes) {
    stmt.insertAttempt.run(o.key, o.hookId, o.eventId, o.attempt, o.outcome, o.status, o.error, o.durationMs, o.responseBody, o.at);
    if (o.change === "finish") stmt.finish.run(o.state, o.reason ?? null, o.at, o.key);
    else stmt.reschedule.run(o.dueAt, o.key);
  }
});

// Transactions start IMMEDIATE: the main thread's connection writes too (commands, pruning).
parentPort!.on("message", (request: Request) => {
  if (request.op === "stop") {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    if (request.op === "enqueue") parentPort!.postMessage({ seq: request.seq, keys: enqueue.immediate(request.txnId, request.now, request.messages) });
    else {
      writeOutcomes.immediate(request.outcomes);
      parentPort!.postMessage({ seq: request.seq });
    }
  } catch (err) {
    parentPort!.postMessage({ seq: request.seq, error: err instanceof Error ? err.message : String(err) });
  }
});
