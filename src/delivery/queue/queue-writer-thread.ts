// Runs in a worker thread (see queue-writer.ts): the delivery queue's hot writes — a homeserver
// transaction's jobs, and batches of attempt outcomes — on their own SQLite connection, so their
// commits never hold up the event loop that answers the homeserver and sends deliveries.
// Self-contained on purpose: Node loads this file directly (compiled, or as TypeScript with its
// built-in type stripping). The message shapes are declared in queue-writer.ts.
import Database from "better-sqlite3";
import { hash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

interface EnqueueMessage { eventId: string; originTs: number; roomId: string; body: string; hookIds: string[] }
/** Outcomes in columns: the layout of OutcomeBatch in outcome-batch.ts. */
interface OutcomeBatch {
  numbers: Float64Array; codes: Uint8Array; hooks: string[]; hookOf: Uint32Array; eventIds: string[];
  errors: Array<string | null>; responseBodies: Array<string | null>; reasons: Array<string | null>;
}
const NUMBERS_PER_OUTCOME = 6;
const OUTCOMES = ["success", "retry", "failed", "dropped"];
const STATES = ["done", "dead", "dropped"];
type Request =
  | { op: "enqueue"; seq: number; txnId: string; now: number; messages: EnqueueMessage[] }
  | { op: "outcomes"; seq: number; batch: OutcomeBatch }
  | { op: "pruneEnd"; seq: number; table: PrunedTable; cutoff: number }
  | { op: "pruneChunk"; seq: number; table: PrunedTable; cutoff: number; after: number; end: number; limit: number }
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
  insertMessage: db.prepare("INSERT OR IGNORE INTO messages (event_id, origin_ts, room_id, body, created_at) VALUES (?, ?, ?, ?, ?)"),
  messageByEvent: db.prepare("SELECT id FROM messages WHERE origin_ts = ? AND event_id = ?").pluck(),
  hooksOfMessage: db.prepare("SELECT hook_id FROM jobs WHERE message_id = ? AND state != 'replayed'").pluck(),
  insertJob: db.prepare("INSERT INTO jobs (message_id, hook_id, due_at, created_at) VALUES (?, ?, ?, ?)"),
  finish: db.prepare("UPDATE jobs SET state = ?, reason = ?, finished_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
  reschedule: db.prepare("UPDATE jobs SET due_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
  insertAttempts: db.prepare("INSERT INTO attempt_batches (hook_id, at, successes, attempts) VALUES (?, ?, ?, ?)"),
};

/** The webhook-id: the same function as job-id.ts (computed here to spare the main thread). */
function webhookId(eventId: string, hookId: string): string {
  return "msg_" + hash("sha256", eventId + "\0" + hookId, "base64url").slice(0, 32);
}

/**
 * Stores the jobs and marks the transaction handled, atomically. Per message and hook: the new
 * job's key and webhook-id, or null when it already had one.
 */
const enqueue = db.transaction((txnId: string, now: number, messages: EnqueueMessage[]): Array<Array<[number, string] | null>> => {
  const keys: Array<Array<[number, string] | null>> = [];
  for (const message of messages) {
    const inserted = stmt.insertMessage.run(message.eventId, message.originTs, message.roomId, message.body, now);
    let messageId = Number(inserted.lastInsertRowid);
    let known: Set<unknown> | null = null;
    if (inserted.changes === 0) {
      // Seen before (a re-send): only hooks that have no job for it yet get one.
      messageId = stmt.messageByEvent.get(message.originTs, message.eventId) as number;
      known = new Set(stmt.hooksOfMessage.all(messageId));
    }
    keys.push(message.hookIds.map((hookId) => (known?.has(hookId) ? null : [Number(stmt.insertJob.run(messageId, hookId, now, now).lastInsertRowid), webhookId(message.eventId, hookId)])));
  }
  stmt.markTxn.run(txnId, now);
  return keys;
});

const orNull = (n: number): number | null => (Number.isNaN(n) ? null : n);
/** Updates each job, and stores the attempts as one attempt_batches row per hook (see migration 5). */
const writeOutcomes = db.transaction((b: OutcomeBatch) => {
  const perHook = b.hooks.map(() => ({ attempts: [] as unknown[], successes: 0, newest: 0 }));
  for (let i = 0; i < b.codes.length; i++) {
    const n = i * NUMBERS_PER_OUTCOME;
    const key = b.numbers[n]!;
    const at = b.numbers[n + 4]!;
    const code = b.codes[i]!;
    const outcome = OUTCOMES[code & 3];
    const hook = perHook[b.hookOf[i]!]!;
    hook.attempts.push([key, b.eventIds[i], b.numbers[n + 1], outcome, orNull(b.numbers[n + 2]!), b.errors[i], b.numbers[n + 3], b.responseBodies[i], at]);
    if (outcome === "success") hook.successes++;
    if (at > hook.newest) hook.newest = at;
    if (code & 4) stmt.reschedule.run(b.numbers[n + 5], key);
    else stmt.finish.run(STATES[code >> 3], b.reasons[i], at, key);
  }
  perHook.forEach((hook, h) => stmt.insertAttempts.run(b.hooks[h], hook.newest, hook.successes, JSON.stringify(hook.attempts)));
});

// Pruning, a chunk at a time so that no transaction waits long behind it. Keys (and rowids) grow
// with time: "end" is the first key young enough to keep, and nothing at or above it is looked at.
// Each table has the condition a row must also meet to go (messages: no job needs it any more).
type PrunedTable = "jobs" | "messages" | "attempt_batches" | "handled_transactions";
const pruneSql: Record<PrunedTable, { key: string; youngFrom: string; also: string }> = {
  jobs: { key: "id", youngFrom: "created_at >= ?", also: "(state = 'replayed' OR (state != 'pending' AND finished_at < @cutoff))" },
  messages: { key: "id", youngFrom: "created_at >= ?", also: "NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.message_id = messages.id)" },
  attempt_batches: { key: "id", youngFrom: "at >= ?", also: "1" },
  handled_transactions: { key: "rowid", youngFrom: "handled_at >= ?", also: "handled_at < @cutoff" },
};
const prune = Object.fromEntries(
  Object.entries(pruneSql).map(([table, { key, youngFrom, also }]) => [table, {
    end: db.prepare(`SELECT ${key} FROM ${table} WHERE ${youngFrom} ORDER BY ${key} LIMIT 1`).pluck(),
    chunk: db.prepare(
      `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${key} > @after AND ${key} < @end AND ${also} ORDER BY ${key} LIMIT @limit) RETURNING ${key}`,
    ).pluck(),
  }]),
) as Record<PrunedTable, { end: Database.Statement; chunk: Database.Statement }>;
const pruneChunk = db.transaction((table: PrunedTable, params: { cutoff: number; after: number; end: number; limit: number }) => {
  const keys = prune[table].chunk.all(params) as number[];
  return { deleted: keys.length, last: keys.length > 0 ? Math.max(...keys) : params.after };
});

// Transactions start IMMEDIATE: the main thread's connection writes too (commands).
parentPort!.on("message", (request: Request) => {
  if (request.op === "stop") {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    if (request.op === "enqueue") parentPort!.postMessage({ seq: request.seq, keys: enqueue.immediate(request.txnId, request.now, request.messages) });
    else if (request.op === "outcomes") {
      writeOutcomes.immediate(request.batch);
      parentPort!.postMessage({ seq: request.seq });
    } else if (request.op === "pruneEnd") {
      const end = prune[request.table].end.get(request.cutoff) as number | undefined;
      parentPort!.postMessage({ seq: request.seq, pruned: { end: end ?? Number.MAX_SAFE_INTEGER } });
    } else {
      const { table, cutoff, after, end, limit } = request;
      parentPort!.postMessage({ seq: request.seq, pruned: pruneChunk.immediate(table, { cutoff, after, end, limit }) });
    }
  } catch (err) {
    parentPort!.postMessage({ seq: request.seq, error: err instanceof Error ? err.message : String(err) });
  }
});
