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
  | { op: "enqueue"; seq: number; txnId: string; now: number; messages: EnqueueMessage[]; followUps: Array<{ eventId: string; event: string }>; eventIds: string }
  | { op: "outcomes"; seq: number; batch: OutcomeBatch }
  | { op: "followUpDone"; seq: number; eventId: string; now: number }
  | { op: "prune"; seq: number; table: PrunedTable; cutoff: number; after: number; window: number | null; budgetMs: number }
  | { op: "stop" };

const { path, synchronous } = workerData as { path: string; synchronous: string };
const db = new Database(path);
db.pragma(`synchronous = ${synchronous === "FULL" ? "FULL" : "NORMAL"}`);
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = 5000");
// Checkpoints are the checkpointer thread's job; this is only a fallback should it stop.
db.pragma("wal_autocheckpoint = 20000");

const stmt = {
  // A re-used id keeps its first handled_at: retention (and pruning by key order) counts from then.
  markTxn: db.prepare("INSERT INTO handled_transactions (txn_id, handled_at, event_ids) VALUES (?, ?, ?) ON CONFLICT (txn_id) DO UPDATE SET event_ids = excluded.event_ids"),
  insertFollowUp: db.prepare("INSERT OR IGNORE INTO follow_ups (event_id, txn_id, event, created_at) VALUES (?, ?, ?, ?)"),
  followUpDone: db.prepare("UPDATE follow_ups SET done_at = ? WHERE event_id = ? AND done_at IS NULL"),
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
 * Stores the jobs and the follow-ups and marks the transaction handled with its events' ids,
 * atomically. Per message and hook: the new job's key and webhook-id, or null when it already had
 * one; per follow-up: whether it is new (an event stored before is not run again).
 */
const enqueue = db.transaction((txnId: string, now: number, messages: EnqueueMessage[], followUps: Array<{ eventId: string; event: string }>, eventIds: string) => {
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
  const newFollowUps = followUps.map(({ eventId, event }) => stmt.insertFollowUp.run(eventId, txnId, event, now).changes === 1);
  stmt.markTxn.run(txnId, now, eventIds);
  return { keys, newFollowUps };
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

// Pruning, a window of keys at a time, so that no statement looks at more than `window` rows and
// no transaction waits long behind one. Keys (and rowids) grow with time: windows are taken in key
// order, and the first window holding a row young enough to keep is the last. Per table: its key,
// its time column, and what else a row must meet to go (messages: no job needs it any more;
// follow-ups: done).
type PrunedTable = "jobs" | "messages" | "attempt_batches" | "handled_transactions" | "follow_ups";
const pruneSql: Record<PrunedTable, { key: string; time: string; also: string }> = {
  jobs: { key: "id", time: "created_at", also: "(state = 'replayed' OR (state != 'pending' AND finished_at < @cutoff))" },
  messages: { key: "id", time: "created_at", also: "NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.message_id = messages.id)" },
  attempt_batches: { key: "id", time: "at", also: "1" },
  handled_transactions: { key: "rowid", time: "handled_at", also: "1" },
  follow_ups: { key: "id", time: "created_at", also: "done_at IS NOT NULL" },
};
const prune = Object.fromEntries(
  Object.entries(pruneSql).map(([table, { key, time, also }]) => {
    const inWindow = `${key} > @after AND ${key} <= @after + @window`;
    return [table, {
      maxKey: db.prepare(`SELECT COALESCE(MAX(${key}), 0) FROM ${table}`).pluck(),
      firstAbove: db.prepare(`SELECT MIN(${key}) FROM ${table} WHERE ${key} > ?`).pluck(),
      young: db.prepare(`SELECT EXISTS (SELECT 1 FROM ${table} WHERE ${inWindow} AND ${time} >= @cutoff)`).pluck(),
      delete: db.prepare(`DELETE FROM ${table} WHERE ${inWindow} AND ${time} < @cutoff AND ${also}`),
    }];
  }),
) as Record<PrunedTable, { maxKey: Database.Statement; firstAbove: Database.Statement; young: Database.Statement; delete: Database.Statement }>;
/** Keys per window: an attempt batch holds up to a thousand attempts, so its windows are small. */
// Sized so that one window takes about a millisecond here (bench/prune.ts).
const PRUNE_WINDOW: Record<PrunedTable, number> = { jobs: 300, messages: 150, attempt_batches: 10, handled_transactions: 1000, follow_ups: 1000 };
/**
 * Deletes the old rows among the `window` keys from the first row above `after` (keys already
 * pruned are skipped, so a run costs what is left, not every key ever used). Says where the next
 * window starts and whether to go on.
 */
const pruneWindow = db.transaction((table: PrunedTable, { cutoff, after, window }: { cutoff: number; after: number; window: number }) => {
  const statements = prune[table];
  const first = statements.firstAbove.get(after) as number | null;
  if (first === null) return { deleted: 0, more: false, next: after };
  const params = { cutoff, after: first - 1, window };
  const deleted = statements.delete.run(params).changes;
  const next = params.after + window;
  return { deleted, more: !statements.young.get(params) && next < (statements.maxKey.get() as number), next };
});

// Transactions start IMMEDIATE: the main thread's connection writes too (commands).
parentPort!.on("message", (request: Request) => {
  if (request.op === "stop") {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    if (request.op === "enqueue") parentPort!.postMessage({ seq: request.seq, ...enqueue.immediate(request.txnId, request.now, request.messages, request.followUps, request.eventIds) });
    else if (request.op === "outcomes") {
      writeOutcomes.immediate(request.batch);
      parentPort!.postMessage({ seq: request.seq });
    } else if (request.op === "followUpDone") {
      stmt.followUpDone.run(request.now, request.eventId);
      parentPort!.postMessage({ seq: request.seq });
    } else {
      // Windows one after another (each its own transaction; at least one) for about budgetMs, then the answer:
      // requests that came in meanwhile (a homeserver transaction) go before the next step.
      const { table, cutoff, budgetMs } = request;
      const window = request.window ?? PRUNE_WINDOW[table];
      const started = performance.now();
      let { after } = request;
      let deleted = 0;
      let more = true;
      do {
        const step = pruneWindow.immediate(table, { cutoff, after, window });
        deleted += step.deleted;
        more = step.more;
        after = step.next;
      } while (more && performance.now() - started < budgetMs);
      parentPort!.postMessage({ seq: request.seq, pruned: { deleted, after, more } });
      // Deletes fill the log fast: copied back after every step (1–2 ms), it never reaches the
      // automatic limit, whose checkpoint held transactions up for 50–75 ms (bench/prune.ts).
      if (deleted > 0) db.pragma("wal_checkpoint(PASSIVE)");
    }
  } catch (err) {
    parentPort!.postMessage({ seq: request.seq, error: err instanceof Error ? err.message : String(err) });
  }
});
