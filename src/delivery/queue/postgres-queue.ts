import { randomUUID } from "node:crypto";
import type pg from "pg";
import { pgClient, pgText } from "../../store/postgres/pg-store.js";
import { cutOffBatches, fetchPlan, selectClaim, shortTags, storedTag, type HookCandidates, type HookFetch } from "./claim-selection.js";
import { ClaimBuffer } from "./claim-buffer.js";
import { ChurnMap } from "../churn-map.js";
import { pgArray } from "../../store/postgres/pg-arrays.js";
import { jobId } from "./job-id.js";
import type {
  AttemptRecord, AttemptSummary, ClaimOptions, ClaimedJob, DeliveryQueue, FollowUp, HookQueueStatus, ReplayWhich, StoredTransaction, TransactionRecord,
} from "./queue.js";
import { handledEventIds } from "./queue.js";

/** The channel new and rescheduled jobs are announced on; the payload is the hooks' ids (or empty: look at all). */
export const JOBS_CHANNEL = "mwb_jobs";
// A NOTIFY payload must stay under 8000 bytes: a longer list is sent as "look at all".
const MAX_PAYLOAD = 7000;
// Outcomes wait this long to be written together (one commit for many), as on SQLite.
const FLUSH_DELAY_MS = 20;
// A claim of plain hooks leases at least this many (the rest wait in the buffer for the next claims).
const PREFETCH = 64;
// Hooks read per claim query: each is one index probe.
const HOOKS_PER_QUERY = 256;
// The list of hooks with pending jobs is read again after this long (other processes' jobs, leases that ran out).
const HOOK_LIST_TTL_MS = 1000;
// An idle worker with pending jobs it cannot take now (leased elsewhere) looks again this often.
const MAX_SLEEP_MS = 5000;

// Statements on jobs named by key test `state || '' = 'pending'`, which no index matches: analyzed
// while no job was pending, the partial index of pending jobs looks like one row, and a plain
// `state = 'pending'` made it the planner's way in, read in full for every key (migration 9).
/** Ends leases of jobs not handed out ($1 keys, $2 their tokens). */
export const UNLEASE_JOBS =
  "UPDATE jobs SET lease_until = NULL, lease_token = NULL FROM unnest($1::bigint[], $2::text[]) AS u(id, token) WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state || '' = 'pending'";
/** Drops a removed hook's ($2) pending jobs, locked in key order as outcome writes lock theirs (the two never deadlock). */
export const DROP_HOOK_JOBS =
  `UPDATE jobs SET state = 'dropped', reason = 'the hook was removed', finished_at = $1, lease_until = NULL, lease_token = NULL
   WHERE id IN (SELECT id FROM jobs WHERE hook_id = $2 AND state = 'pending' ORDER BY id FOR UPDATE) AND state || '' = 'pending'`;

interface Lease {
  job: ClaimedJob;
  token: string;
  until: number;
}

interface OutcomeRow {
  job: ClaimedJob;
  token: string | null;
  state: "pending" | "done" | "dead" | "dropped";
  reason: string | null;
  dueAt: number | null;
  attempt: AttemptRecord;
  at: number;
  /** Writes of it that failed. */
  failures: number;
}

interface CandidateRow {
  ord: number;
  id: number;
  hook_id: string;
  attempts: number;
  due_at: number;
  batch_id: string | null;
  batch_size: number | null;
  oldest: number;
  event_id: string;
  room_id: string;
  body: string;
}

export interface PostgresQueueOptions {
  /** For LISTEN, which holds a connection of its own. */
  url: string;
  /** Told when a background write fails (it is tried again a second later) or the listener loses its connection. */
  onBackgroundError?: (err: unknown) => void;
  /**
   * Refuse to open while another queue opened with `exclusive` uses the database (a session lock
   * held by the listening connection): for a bridge whose hooks are known to one process only.
   */
  exclusive?: boolean;
  /**
   * Take that lock shared instead: any number of queues opened with `shared` use the database at
   * once (processes that split the bridge's roles), none while an exclusive one does, nor it while they do.
   */
  shared?: boolean;
  /**
   * This process run's id, as the pool sets it on its connections (PgStoreSettings.runId). The
   * run holds a session lock named after it while it listens; pendingFollowUps then returns this
   * run's follow-ups and takes over those of runs whose lock is gone (they died).
   */
  runId?: string;
  /**
   * With `exclusive`: the process also delivers, and the jobs of a transaction it stores are
   * leased to it as they are stored and sent from memory (no claim), while the buffer holds fewer
   * than `jobs` jobs, `bytes` bytes of events and `perHook` jobs of the job's hook
   * (delivery.heldTotal, delivery.heldBytes, delivery.heldPerHook).
   */
  leaseOnStore?: { jobs: number; bytes: number; perHook: number };
}

// The session lock `exclusive` takes ("mwb" + 1).
const EXCLUSIVE_LOCK = 0x6d776201;
// The first key of each run's own session lock (the second is its id's hash): "mwc".
const RUN_LOCK = 0x6d7763;

/**
 * The delivery queue in PostgreSQL, shared by any number of processes. The tables are the truth:
 * a job is committed before its transaction is acknowledged. A claim locks due jobs with
 * `FOR UPDATE SKIP LOCKED` and leases them (lease_until, and a token that later reports must
 * carry), so two workers never take the same job, and a dead worker's jobs are due again once its
 * leases end. New jobs are announced with NOTIFY, so workers wake without polling. Memory holds
 * only this process's leases and the outcomes not yet written.
 */
export class PostgresDeliveryQueue implements DeliveryQueue {
  private readonly listeners: Array<() => void> = [];
  // A lease is added and removed per delivery: a ChurnMap, so that young collections stay short (churn-map.ts).
  private readonly leases = new ChurnMap<number, Lease>();
  private readonly buffer = new ClaimBuffer();
  private pendingWrites: OutcomeRow[] = [];
  private writing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private writeSoon: NodeJS.Immediate | null = null;
  // After a failed write: how many outcomes the next takes (halved at each failure), else null (all).
  private retryLimit: number | null = null;
  private listener: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  // (`listed`: the same hooks, to look one up without a scan: 10,000 hooks are hinted hundreds at a time.)
  private hookList: { hooks: string[]; listed: Set<string>; readAt: number } = { hooks: [], listed: new Set(), readAt: 0 };
  private readonly hinted = new Set<string>();
  private rotation = 0;
  private readonly claiming = new Set<Promise<unknown>>();
  // The last claim's options: which hooks a job stored now could be leased for, and for how long.
  private lastClaim: ClaimOptions | null = null;
  // Hooks with jobs in the store that no claim has taken yet (stored without a lease, or given
  // back): their new jobs are not leased on store either, so that they go after those.
  private readonly storeBacklog = new Set<string>();
  // Alone and leasing on store: hooks with a retry in the table, and the earliest it is due (a
  // claim then visits only these and storeBacklog's hooks, and every hook once a second).
  private readonly retriesDue = new Map<string, number>();
  // Alone and leasing on store: hooks whose last outcome here was a delivery. Only their jobs are
  // leased on store: a hook that never delivered, or fails now, may only fail at once again (each
  // failure a health step), so its jobs wait in the table, claimed as before.
  private readonly delivering = new Set<string>();
  private visitedAllAt = -Infinity;
  private leasesCheckedAt = 0;
  // close() was called: no new claims.
  private closing = false;
  private closed = false;
  // `exclusive`, and the session lock is not held (its connection broke): no claims until it is again.
  private lockLost = false;
  private readonly onBackgroundError: (err: unknown) => void;

  // Alone on the database and leasing on store: this process knows every job of the table it does not hold.
  private readonly leasesOnStore: boolean;

  private constructor(private readonly pool: pg.Pool, private readonly opts: PostgresQueueOptions) {
    this.onBackgroundError = opts.onBackgroundError ?? (() => undefined);
    this.leasesOnStore = Boolean(opts.exclusive && opts.leaseOnStore);
  }

  /** A queue on a migrated pool (openPgStore), listening for other processes' jobs. */
  static async open(pool: pg.Pool, opts: PostgresQueueOptions): Promise<PostgresDeliveryQueue> {
    const queue = new PostgresDeliveryQueue(pool, opts);
    await queue.listen();
    if (opts.exclusive) {
      // No other process uses the database: leases left are a killed run's, whose jobs go out again at once (as on SQLite).
      await pool.query("UPDATE jobs SET lease_until = NULL, lease_token = NULL WHERE state = 'pending' AND lease_until IS NOT NULL");
      for (const hookId of await queue.pendingHooks(Date.now())) queue.storeBacklog.add(hookId);
    }
    return queue;
  }

  async handledEvents(txnId: string): Promise<ReadonlySet<string> | null> {
    const { rows } = await this.pool.query<{ event_ids: string | null }>("SELECT event_ids FROM handled_transactions WHERE txn_id = $1", [pgText(txnId)]);
    return rows.length === 0 ? null : handledEventIds(rows[0]!.event_ids);
  }

  async storeTransaction(record: TransactionRecord): Promise<StoredTransaction> {
    return (await this.store(record, false)) as StoredTransaction;
  }

  async storeNewTransaction(record: TransactionRecord, roomVersions?: ReadonlyMap<string, number>): Promise<StoredTransaction | { seen: ReadonlySet<string> } | { stale: readonly string[] }> {
    return this.store(record, true, roomVersions ?? null);
  }

  /**
   * storeTransaction, or (onlyIfNew) nothing when the id was handled before, which then gives its
   * events' ids (migration 10), or when a room's hooks are no longer at `roomVersions`, which gives those rooms (migration 12).
   */
  private async store(
    record: TransactionRecord, onlyIfNew: boolean, roomVersions: ReadonlyMap<string, number> | null = null,
  ): Promise<StoredTransaction | { seen: ReadonlySet<string> } | { stale: readonly string[] }> {
    const { txnId, eventIds, messages, followUps } = storable(record);
    const now = Date.now();
    const toStore = messages.filter((m) => m.hookIds.length > 0);
    const pairs = toStore.flatMap((m) => m.hookIds.map((hookId) => ({ m, hookId })));
    const lease = this.leaseOnStore(pairs, now);
    // One round trip (migration 8): messages, jobs, follow-ups, the handled id and the NOTIFY, in one commit.
    const values: unknown[] = [
      txnId, now, JSON.stringify(eventIds),
      pgArray(toStore.map((m) => m.eventId)), pgArray(toStore.map((m) => m.originTs)), pgArray(toStore.map((m) => m.roomId)), pgArray(toStore.map((m) => m.body)),
      pgArray(pairs.map((p) => p.m.eventId)), pgArray(pairs.map((p) => p.m.originTs)), pgArray(pairs.map((p) => p.hookId)), pgArray(lease.leased), lease.until, lease.token,
      pgArray(followUps.map((f) => f.eventId)), pgArray(followUps.map((f) => f.event)),
    ];
    // (Room ids come from Matrix events: pgText, as for the messages' rooms.)
    const checkRooms = onlyIfNew && roomVersions !== null;
    if (checkRooms) values.push(pgArray([...roomVersions.keys()].map(pgText)), pgArray([...roomVersions.values()]));
    const [fn, seen, stale] = onlyIfNew ? ["mwb_store_new_transaction", "o_seen", checkRooms ? "o_stale" : "NULL"] : ["mwb_store_transaction", "NULL", "NULL"];
    const text = `SELECT o_job AS job_id, o_event AS event_id, o_ts AS origin_ts, o_hook AS hook_id, o_follow_up AS follow_up, ${seen} AS seen, ${stale} AS stale
      FROM ${fn}(${values.map((_, i) => `$${i + 1}`).join(", ")})`;
    const { rows } = await this.pool.query<{ job_id: number | null; event_id: string | null; origin_ts: number | null; hook_id: string | null; follow_up: string | null; seen: string | null; stale: string | null }>(text, values);
    // A seen id, or rooms whose hooks changed: nothing was stored (and nothing leased).
    const first = rows[0];
    if (first?.seen != null) return { seen: handledEventIds(first.seen) };
    if (first?.stale != null) return { stale: rows.map((r) => r.stale!) };
    const leasedPairs = new Set<string>();
    pairs.forEach((p, i) => {
      if (lease.leased[i]) leasedPairs.add(`${p.m.originTs}\0${p.m.eventId}\0${p.hookId}`);
    });
    const leasedJobs: ClaimedJob[] = [];
    const byEvent = new Map(toStore.map((m) => [`${m.originTs}\0${m.eventId}`, m]));
    const fresh: ClaimedJob[] = [];
    const stored = new Set<string>();
    for (const row of rows) {
      if (row.follow_up !== null) {
        stored.add(row.follow_up);
        continue;
      }
      const m = byEvent.get(`${row.origin_ts}\0${row.event_id}`);
      if (!m || row.job_id === null || row.hook_id === null) continue;
      const job: ClaimedJob = { key: row.job_id, id: jobId(m.eventId, row.hook_id), eventId: m.eventId, hookId: row.hook_id, roomId: m.roomId, attempts: 0, dueAt: now, body: m.body };
      fresh.push(job);
      if (leasedPairs.has(`${m.originTs}\0${m.eventId}\0${job.hookId}`)) leasedJobs.push(job);
      else this.storeBacklog.add(job.hookId);
    }
    if (leasedJobs.length > 0) {
      for (const job of leasedJobs) this.leases.set(job.key, { job, token: lease.token!, until: lease.until! });
      // Stored while closing (the buffer is being given back): given back too.
      if (this.closing) await this.unlease(leasedJobs);
      else this.buffer.add(leasedJobs, lease.until!);
    }
    this.hint(fresh.filter((j) => !this.leases.has(j.key)).map((j) => j.hookId));
    if (fresh.length > 0) this.notify();
    return { jobs: fresh.length, newFollowUps: followUps.map((f) => stored.has(f.eventId)) };
  }

  /**
   * Which of a transaction's jobs to lease as they are stored (leaseOnStore): those of hooks the
   * last claim could have taken from the buffer, whose last outcome was a delivery, with nothing
   * of theirs left in the store for a claim (no retries either), while the buffer has room.
   */
  private leaseOnStore(pairs: ReadonlyArray<{ m: { body: string }; hookId: string }>, now: number): { leased: boolean[]; until: number | null; token: string | null } {
    const bound = this.opts.leaseOnStore;
    const claim = this.lastClaim;
    // (Without the session lock, this process may no longer be alone: it claims nothing until it holds it again.)
    if (!bound || !this.leasesOnStore || !claim || this.closing || this.lockLost) return { leased: pairs.map(() => false), until: null, token: null };
    let jobs = this.buffer.size;
    let bytes = this.buffer.bytes;
    const perHook = new Map<string, number>();
    const leased = pairs.map(({ m, hookId }) => {
      const ofHook = perHook.get(hookId) ?? this.buffer.countOf(hookId);
      // A hook with retries waiting, or not delivering (see `delivering`), is served from the table,
      // as before leasing on store: in order with its retries, and not held in memory while it fails.
      // (A paused hook's jobs are leased, up to the per-hook bound, and given back once they waited too long.)
      if (jobs >= bound.jobs || bytes >= bound.bytes || ofHook >= bound.perHook || !this.delivering.has(hookId) || this.storeBacklog.has(hookId) || this.retriesDue.has(hookId) || !claimsAsPlain(claim, hookId)) return false;
      jobs++;
      bytes += m.body.length;
      perHook.set(hookId, ofHook + 1);
      return true;
    });
    return { leased, until: now + claim.leaseMs, token: randomUUID() };
  }

  async pendingFollowUps(): Promise<FollowUp[]> {
    const columns = "event_id AS \"eventId\", txn_id AS \"txnId\", event";
    const runId = this.opts.runId;
    if (!runId) return (await this.pool.query<FollowUp>(`SELECT ${columns} FROM follow_ups WHERE done_at IS NULL ORDER BY id`)).rows;
    await this.adoptFollowUps(runId);
    return (await this.pool.query<FollowUp>(`SELECT ${columns} FROM follow_ups WHERE done_at IS NULL AND owner = $1 ORDER BY id`, [runId])).rows;
  }

  /**
   * Takes over the unfinished follow-ups of runs that died: those whose session lock can be taken
   * (held for the moment, so that two runs asking at once never both take them), and those
   * stored by a process alone on the database (no owner).
   */
  private async adoptFollowUps(runId: string): Promise<void> {
    await this.pool.query("UPDATE follow_ups SET owner = $1 WHERE done_at IS NULL AND owner IS NULL", [runId]);
    const { rows } = await this.pool.query<{ owner: string }>("SELECT DISTINCT owner FROM follow_ups WHERE done_at IS NULL AND owner <> $1", [runId]);
    for (const { owner } of rows) {
      const client = await this.pool.connect();
      try {
        const { rows: lock } = await client.query<{ dead: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS dead", [RUN_LOCK, owner]);
        if (!lock[0]?.dead) continue;
        try {
          await client.query("UPDATE follow_ups SET owner = $1 WHERE done_at IS NULL AND owner = $2", [runId, owner]);
        } finally {
          await client.query("SELECT pg_advisory_unlock($1, hashtext($2))", [RUN_LOCK, owner]);
        }
      } finally {
        client.release();
      }
    }
  }

  async ownsFollowUp(eventId: string): Promise<boolean> {
    const runId = this.opts.runId;
    if (!runId) return true;
    const { rows } = await this.pool.query("SELECT 1 FROM follow_ups WHERE event_id = $1 AND done_at IS NULL AND (owner = $2 OR owner IS NULL)", [pgText(eventId), runId]);
    return rows.length > 0;
  }

  async followUpDone(eventId: string): Promise<void> {
    await this.pool.query("UPDATE follow_ups SET done_at = $1 WHERE event_id = $2 AND done_at IS NULL", [Date.now(), pgText(eventId)]);
  }

  async claimDue(limit: number, opts: ClaimOptions): Promise<ClaimedJob[]> {
    if (limit <= 0 || this.closing || this.lockLost) return [];
    const claim = this.claim(limit, opts);
    this.claiming.add(claim);
    try {
      return await claim;
    } finally {
      this.claiming.delete(claim);
    }
  }

  private async claim(limit: number, opts: ClaimOptions): Promise<ClaimedJob[]> {
    this.lastClaim = opts;
    this.forgetOldLeases(opts.now);
    // What this claim took of each hook, whichever way: buffer, plain claim or selection.
    const perHook = new Map<string, number>();
    const fromBuffer = this.buffer.take(limit, opts, perHook);
    // Given back before this claim reads (rare: a hook's settings changed, or jobs waited too long).
    await this.unlease(fromBuffer.released);
    const taken: ClaimedJob[] = fromBuffer.taken;
    if (taken.length >= limit) return taken;
    const hooks = await this.hooksForClaim(opts.now);
    const token = randomUUID();
    // Hooks a chunk at a time, until the claim is full.
    for (let from = 0; from < hooks.length && countDeliveries(taken) < limit; from += HOOKS_PER_QUERY) {
      const plan = fetchPlan(hooks.slice(from, from + HOOKS_PER_QUERY), limit, opts);
      if (plan.length === 0) continue;
      const left = limit - countDeliveries(taken);
      // Hooks that neither batch nor keep strict order take their first due jobs: SQL alone picks
      // those, in one round trip, and it leases more than asked (kept for the next claims).
      const plain = plan.every((p) => !p.strict && !opts.batching?.(p.hookId));
      if (plain) {
        const want = Math.max(left, PREFETCH);
        const picked = await this.claimPlain(plan, want, opts, token);
        // Fewer than asked: every hook whose share was not filled has nothing due left in the store.
        if (picked.length < want) {
          const got = new Map<string, number>();
          for (const job of picked) got.set(job.hookId, (got.get(job.hookId) ?? 0) + 1);
          for (const p of plan) {
            if ((got.get(p.hookId) ?? 0) >= Math.max(1, p.fetch - 1)) continue;
            this.storeBacklog.delete(p.hookId);
            // Its due retries were taken; a later one is found again by nextDueAt or the visit of every hook.
            if ((this.retriesDue.get(p.hookId) ?? Infinity) <= opts.now) this.retriesDue.delete(p.hookId);
          }
        }
        for (const job of picked) this.leases.set(job.key, { job, token, until: opts.now + opts.leaseMs });
        this.buffer.add(picked, opts.now + opts.leaseMs);
        const more = this.buffer.take(left, opts, perHook);
        taken.push(...more.taken);
        // (Rare: another hook's jobs that waited too long, found by the take's sweep.)
        await this.unlease(more.released);
      } else {
        const picked = await this.claimSelected(plan, left, opts, token, perHook);
        for (const job of picked) this.leases.set(job.key, { job, token, until: opts.now + opts.leaseMs });
        taken.push(...picked);
      }
    }
    return taken;
  }

  /** Forgets, once a minute, leases that ended a minute ago or more: their jobs were never reported. */
  private forgetOldLeases(now: number): void {
    if (now - this.leasesCheckedAt < 60_000) return;
    this.leasesCheckedAt = now;
    for (const [key, lease] of this.leases) if (lease.until + 60_000 < now) this.leases.delete(key);
  }

  /** Ends the leases of jobs leased ahead and not handed out (in the background: if it fails, the leases run out). */
  private unlease(jobs: readonly ClaimedJob[]): Promise<void> {
    if (jobs.length === 0) return Promise.resolve();
    const ids: number[] = [];
    const tokens: string[] = [];
    for (const job of jobs) {
      const lease = this.leases.get(job.key);
      if (lease?.job !== job) continue;
      this.leases.delete(job.key);
      this.storeBacklog.add(job.hookId);
      ids.push(job.key);
      tokens.push(lease.token);
    }
    // Leased as they were stored, their hooks may not be in the list a claim visits.
    this.hint(jobs.map((j) => j.hookId));
    return this.pool.query(UNLEASE_JOBS, [pgArray(ids), pgArray(tokens)]).then(() => this.notify(), (err: unknown) => this.onBackgroundError(err));
  }

  /** Locks, leases and reads each hook's first due jobs in one statement (its own commit). */
  private async claimPlain(plan: readonly HookFetch[], limit: number, opts: ClaimOptions, token: string): Promise<ClaimedJob[]> {
    const { rows } = await this.pool.query<Omit<CandidateRow, "ord" | "oldest" | "batch_id" | "batch_size">>(
      "SELECT o_id AS id, o_hook AS hook_id, o_attempts AS attempts, o_due AS due_at, o_event AS event_id, o_room AS room_id, o_body AS body FROM mwb_claim_plain($1, $2, $3, $4, $5, $6)",
      // A plain hook's plan reads one more than it may take (to see whether more wait): not needed here.
      [pgArray(plan.map((p) => p.hookId)), pgArray(plan.map((p) => Math.max(1, p.fetch - 1))), opts.now, limit, opts.now + opts.leaseMs, token],
    );
    return rows.map((row) => ({ key: row.id, id: jobId(row.event_id, row.hook_id), eventId: row.event_id, hookId: row.hook_id, roomId: row.room_id, attempts: row.attempts, dueAt: row.due_at, body: row.body }));
  }

  /**
   * Locks each hook's due jobs, picks what to send by the rules for strict and batching hooks
   * (selectClaim) and leases the picks, in one transaction; the rest are unlocked at its commit.
   */
  private async claimSelected(plan: readonly HookFetch[], limit: number, opts: ClaimOptions, token: string, perHook: Map<string, number>): Promise<ClaimedJob[]> {
    return this.transaction(async (client) => {
      // Index access only, whatever the statistics say (see migration 2).
      await client.query("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off");
      const candidates = candidatesOf(await lockCandidates(client, plan, opts.now), plan);
      // A batch tagged under a larger max_events than today's, cut off by the read: read more of those hooks.
      const wider = cutOffBatches(candidates, plan);
      if (wider.length > 0) {
        const more = candidatesOf(await lockCandidates(client, wider, opts.now), wider);
        for (const hook of more) candidates[plan.findIndex((p) => p.hookId === hook.hookId)] = hook;
      }
      // Batches with members not among the candidates: how many the store still has pending (an
      // unlocked read: members locked or leased elsewhere count).
      const short = shortTags(candidates);
      const tagPending = new Map<string, number>();
      if (short.length > 0) {
        const counts = await client.query<{ batch_id: string; n: number }>(
          "SELECT batch_id, count(*)::int AS n FROM jobs WHERE hook_id = ANY($1::text[]) AND state = 'pending' AND batch_id = ANY($2::text[]) GROUP BY batch_id",
          [plan.map((p) => p.hookId), short],
        );
        for (const row of counts.rows) tagPending.set(row.batch_id, row.n);
      }
      const picked = selectClaim(candidates, limit, opts, perHook, tagPending);
      if (picked.length === 0) return [];
      await client.query(
        `UPDATE jobs SET lease_until = $2, lease_token = $3, batch_id = p.batch_id, batch_size = p.batch_size
         FROM unnest($1::bigint[], $4::text[], $5::int[]) AS p(id, batch_id, batch_size) WHERE jobs.id = p.id`,
        [picked.map((j) => j.key), opts.now + opts.leaseMs, token, picked.map((j) => j.batch?.id ?? null), picked.map((j) => j.batch?.size ?? null)],
      );
      return picked;
    });
  }

  complete(job: ClaimedJob, attempt: AttemptRecord): void {
    const dropped = attempt.outcome === "dropped";
    this.record(job, attempt, dropped ? "dropped" : "done", dropped ? attempt.error : null, null);
  }

  retryAt(job: ClaimedJob, dueAt: number, attempt: AttemptRecord): void {
    this.record(job, attempt, "pending", null, dueAt);
  }

  deadLetter(job: ClaimedJob, reason: string, attempt: AttemptRecord): void {
    this.record(job, attempt, "dead", reason, null);
  }

  /**
   * The next retry of a hook not skipped (one scan of the pending jobs, keeping the earliest: an
   * index of due times cost every store and retry more than it saved, and misled the claims'
   * plans), a strict hook's oldest job, and a batching hook's first due job plus its wait, one
   * index probe each. Jobs leased elsewhere (whose lease may end) are looked at again within MAX_SLEEP_MS.
   */
  async nextDueAt(opts: Pick<ClaimOptions, "skipHooks" | "strictHooks" | "batching"> = {}): Promise<number | null> {
    const now = Date.now();
    if (this.buffer.hasClaimable(opts.skipHooks)) return now;
    const hooks = (await this.pendingHooks(now)).filter((h) => !opts.skipHooks?.has(h));
    if (hooks.length === 0) return null;
    let next = now + MAX_SLEEP_MS;
    const retries = await this.pool.query<{ hook_id: string; due_at: number }>(
      // Only retries are due later (new and replayed jobs are due when stored): the partial index jobs_retry_due.
      "SELECT hook_id, due_at FROM jobs WHERE state = 'pending' AND attempts > 0 AND due_at > $1 ORDER BY due_at LIMIT 256", [now]);
    // What the worker will wake for, a claim must visit.
    for (const r of retries.rows) this.noteRetry(r.hook_id, r.due_at);
    const retry = retries.rows.find((r) => !opts.skipHooks?.has(r.hook_id));
    if (retry) next = Math.min(next, retry.due_at);
    const strict = hooks.filter((h) => opts.strictHooks?.has(h));
    const batching = hooks.flatMap((h) => {
      const lane = opts.strictHooks?.has(h) ? null : (opts.batching?.(h) ?? null);
      return lane ? [{ hookId: h, lane }] : [];
    });
    if (strict.length + batching.length === 0) return next;
    // A strict hook's oldest job (its lease's end, if in flight); a batching hook's first due,
    // unleased job among its first thousand (a batch not full goes once that waited its max_wait_ms).
    const { rows } = await this.pool.query<{ hook_id: string; oldest: number | null; first_due: number | null }>(
      `SELECT h.hook_id,
         (SELECT GREATEST(o.due_at, COALESCE(o.lease_until, 0)) FROM jobs o WHERE o.hook_id = h.hook_id AND o.state = 'pending' ORDER BY o.id LIMIT 1) AS oldest,
         (SELECT min(f.due_at) FROM (SELECT d.due_at, d.lease_until FROM jobs d WHERE d.hook_id = h.hook_id AND d.state = 'pending' ORDER BY d.id LIMIT 1000) f
            WHERE f.due_at <= $2 AND (f.lease_until IS NULL OR f.lease_until <= $2)) AS first_due
       FROM unnest($1::text[]) AS h(hook_id)`,
      [strict.concat(batching.map((b) => b.hookId)), now],
    );
    const waits = new Map(batching.map((b) => [b.hookId, b.lane.maxWaitMs]));
    for (const row of rows) {
      const wait = waits.get(row.hook_id);
      if (wait === undefined && row.oldest !== null) next = Math.min(next, row.oldest);
      if (wait !== undefined && row.first_due !== null) next = Math.min(next, row.first_due + wait);
    }
    return next;
  }

  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE state = 'pending'");
    return rows[0]?.n ?? 0;
  }

  async cancelHook(hookId: string): Promise<number> {
    // Reports of its attempts still in flight no longer count (their writes only touch pending jobs).
    this.buffer.dropHook(hookId);
    this.storeBacklog.delete(hookId);
    this.retriesDue.delete(hookId);
    this.delivering.delete(hookId);
    for (const [key, lease] of this.leases) if (lease.job.hookId === hookId) this.leases.delete(key);
    const { rowCount } = await this.pool.query(DROP_HOOK_JOBS, [Date.now(), hookId]);
    return rowCount ?? 0;
  }

  async replay(hookId: string, which: ReplayWhich, now = Date.now()): Promise<number> {
    await this.flush();
    // The states are tested so that only jobs_once (state <> 'replayed') may lead to a job by its
    // event, never the partial index of finished or of pending jobs: statistics taken before any
    // job finished (or while none was pending) make those look like one row (see UNLEASE_JOBS).
    const fresh = await this.transaction(async (client) => {
      const sources = !("eventId" in which)
        ? await client.query<{ id: number; message_id: number }>("SELECT id, message_id FROM jobs WHERE hook_id = $1 AND state = 'dead' ORDER BY id FOR UPDATE", [hookId])
        : which.originTs !== null
          ? await client.query<{ id: number; message_id: number }>(
            `SELECT j.id, j.message_id FROM jobs j JOIN messages m ON m.id = j.message_id
             WHERE m.origin_ts = $1 AND m.event_id = $2 AND j.hook_id = $3 AND j.state <> 'replayed' AND j.state || '' IN ('done', 'dead', 'dropped') ORDER BY j.id DESC LIMIT 1 FOR UPDATE OF j`,
            [which.originTs, pgText(which.eventId), hookId],
          )
          : await client.query<{ id: number; message_id: number }>(
            `SELECT j.id, j.message_id FROM jobs j JOIN messages m ON m.id = j.message_id
             WHERE j.hook_id = $1 AND j.state = 'dead' AND m.event_id = $2 ORDER BY j.id DESC LIMIT 1 FOR UPDATE OF j`,
            [hookId, pgText(which.eventId)],
          );
      const ids = sources.rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      // An event already waiting again (replayed twice) is not queued a third time: its pending job holds the (message, hook) slot.
      const { rows } = await client.query<{ id: number }>(
        `WITH replayed AS (
           UPDATE jobs SET state = 'replayed' WHERE id = ANY($1::bigint[]) AND state || '' IN ('dead', 'dropped', 'done')
             AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.message_id = jobs.message_id AND p.hook_id = jobs.hook_id AND p.state <> 'replayed' AND p.state || '' = 'pending')
           RETURNING message_id, hook_id)
         INSERT INTO jobs (message_id, hook_id, due_at, created_at) SELECT message_id, hook_id, $2, $2 FROM replayed ORDER BY message_id RETURNING id`,
        [ids, now],
      );
      if (rows.length > 0) await this.announce(client, [hookId]);
      return rows.length;
    });
    if (fresh > 0) {
      this.storeBacklog.add(hookId);
      this.hint([hookId]);
      this.notify();
    }
    return fresh;
  }

  async eventForJob(jobKey: number): Promise<string | null> {
    const { rows } = await this.pool.query<{ body: string }>("SELECT m.body FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.id = $1", [jobKey]);
    return rows[0]?.body ?? null;
  }

  async hookStatus(hookId: string, recentAttempts: number): Promise<HookQueueStatus> {
    await this.flush();
    const counts = await this.pool.query<{ pending: number; dead: number }>(
      "SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending, count(*) FILTER (WHERE state = 'dead')::int AS dead FROM jobs WHERE hook_id = $1 AND state IN ('pending', 'dead')",
      [hookId],
    );
    const delivered = await this.pool.query<{ n: number }>("SELECT coalesce(sum(successes), 0)::int AS n FROM attempt_batches WHERE hook_id = $1", [hookId]);
    // The last attempts are in the last batches (each holds one at least).
    const recent = await this.pool.query<AttemptSummary>(
      `SELECT a.event_id AS "eventId", a.attempt, a.outcome, a.status, a.error, a.duration_ms AS "durationMs", a.at
       FROM (SELECT id FROM attempt_batches WHERE hook_id = $1 ORDER BY id DESC LIMIT $2) last
       JOIN attempts a ON a.batch_id = last.id ORDER BY a.batch_id DESC, a.seq DESC LIMIT $2`,
      [hookId, Math.max(0, recentAttempts)],
    );
    return { pending: counts.rows[0]?.pending ?? 0, dead: counts.rows[0]?.dead ?? 0, delivered: delivered.rows[0]?.n ?? 0, recent: recent.rows };
  }

  /**
   * Forgets finished jobs, the events only they needed, attempts, handled transaction ids and done
   * follow-ups older than the cutoff, a thousand rows per statement (short transactions that never
   * hold a homeserver transaction up for long). Resolves with the number of rows deleted.
   */
  async prune(olderThan: number): Promise<number> {
    const steps = [
      // Rows a transaction being stored holds (an event sent again) are left for the next round.
      "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE (state = 'replayed' AND created_at < $1) OR (state IN ('done', 'dead', 'dropped') AND finished_at < $1) LIMIT 1000 FOR UPDATE SKIP LOCKED)",
      "DELETE FROM messages WHERE id IN (SELECT id FROM messages m WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.message_id = m.id) LIMIT 1000 FOR UPDATE SKIP LOCKED)",
      "DELETE FROM attempt_batches WHERE id IN (SELECT id FROM attempt_batches WHERE at < $1 LIMIT 1000)",
      "DELETE FROM handled_transactions WHERE txn_id IN (SELECT txn_id FROM handled_transactions WHERE handled_at < $1 LIMIT 1000)",
      "DELETE FROM follow_ups WHERE id IN (SELECT id FROM follow_ups WHERE done_at IS NOT NULL AND created_at < $1 LIMIT 1000)",
    ];
    let deleted = 0;
    for (const sql of steps) {
      // Bounded: a step deletes up to 1000 rows and ends the loop when it deletes fewer.
      for (let round = 0; round < 100_000 && !this.closed; round++) {
        const { rowCount } = await this.pool.query(sql, [olderThan]);
        deleted += rowCount ?? 0;
        if ((rowCount ?? 0) < 1000) break;
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
    while ((this.pendingWrites.length > 0 || this.writing) && Date.now() < deadline) {
      if (!this.writing) this.writePending();
      await Promise.race([this.writing, new Promise((r) => setTimeout(r, 1000).unref())]);
    }
  }

  /** Writes what is left and stops listening. The pool is the caller's (it may serve other tables). */
  async close(): Promise<void> {
    this.closing = true;
    // A claim under way adds to the buffer: wait for it. Then jobs leased ahead go back at once
    // (another process may take them), not after their lease.
    await Promise.allSettled([...this.claiming]);
    await this.unlease(this.buffer.drain());
    await this.flush();
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.writeSoon) clearImmediate(this.writeSoon);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.flushTimer = this.reconnectTimer = this.writeSoon = null;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  private record(job: ClaimedJob, attempt: AttemptRecord, state: OutcomeRow["state"], reason: string | null, dueAt: number | null): void {
    if (this.closed) return;
    // A stale report (its lease ran out and the job was claimed again, or its hook was removed)
    // changes no job: without a token its update matches nothing. The attempt did happen: it is kept.
    const lease = this.leases.get(job.key);
    const current = lease !== undefined && lease.job === job;
    if (current) this.leases.delete(job.key);
    this.pendingWrites.push({ job, token: current ? lease.token : null, state, reason, dueAt, attempt, at: Date.now(), failures: 0 });
    if (state === "pending" && dueAt !== null) this.noteRetry(job.hookId, dueAt);
    if (this.leasesOnStore) {
      if (state === "done" && attempt.outcome === "success") this.delivering.add(job.hookId);
      else this.delivering.delete(job.hookId);
    }
    // Many waiting: written at once, though after what is recorded in the same turn (a batch's
    // members are recorded one after the other, and must change in one commit).
    if (this.pendingWrites.length >= 1000 && !this.writeSoon) this.writeSoon = setImmediate(() => this.writePending());
    else this.flushTimer ??= setTimeout(() => this.writePending(), FLUSH_DELAY_MS).unref();
  }

  /** Writes the outcomes recorded so far in one transaction; a failed batch is kept and tried again. */
  private writePending(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.writeSoon) clearImmediate(this.writeSoon);
    this.flushTimer = this.writeSoon = null;
    if (this.writing || this.pendingWrites.length === 0) return;
    const taken = this.pendingWrites.splice(0, writeSize(this.pendingWrites, this.retryLimit));
    // Failed again and again, as small as it gets (one job, or one batch's members): written
    // without its texts (the jobs' changes matter most).
    const batch = taken.every((o) => o.failures >= 3) ? taken.map(withoutTexts) : taken;
    const rescheduled = batch.filter((o) => o.state === "pending").map((o) => o.job.hookId);
    const announce = [...new Set(rescheduled)].join("\n");
    // One statement (migration 2), so one round trip and one commit: the jobs' changes, the
    // attempts and (for retries: workers elsewhere may sleep until the lease's end, later than the
    // retry) a NOTIFY. In key order, with each one's place in the order they were made.
    const order = new Map(batch.map((o, i) => [o, i]));
    const rows = [...batch].sort((a, b) => a.job.key - b.job.key);
    this.writing = this.pool.query(
      "SELECT mwb_record_outcomes($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
      [
        pgArray(rows.map((o) => o.job.key)), pgArray(rows.map((o) => o.token)), pgArray(rows.map((o) => o.state)), pgArray(rows.map((o) => pgText(o.reason))), pgArray(rows.map((o) => o.dueAt)), pgArray(rows.map((o) => o.at)),
        pgArray(rows.map((o) => pgText(o.job.hookId))), pgArray(rows.map((o) => pgText(o.job.eventId))), pgArray(rows.map((o) => o.job.attempts + 1)),
        pgArray(rows.map((o) => o.attempt.outcome)), pgArray(rows.map((o) => o.attempt.status)), pgArray(rows.map((o) => pgText(o.attempt.error))),
        pgArray(rows.map((o) => Math.round(o.attempt.durationMs))), pgArray(rows.map((o) => pgText(o.attempt.responseBody))), pgArray(rows.map((o) => order.get(o)!)), announce,
      ],
    ).then(
      () => {
        // After a failure, writes grow back by doubling while rows that failed are at the front.
        this.retryLimit = this.pendingWrites[0]?.failures ? Math.max(1, this.retryLimit ?? 1) * 2 : null;
        if (rescheduled.length > 0) {
          this.hint(rescheduled);
          this.notify();
        }
      },
      (err: unknown) => {
        if (this.closed) return;
        // Tried again in a second, in halves: one row that cannot be written holds up few others.
        for (const row of taken) row.failures++;
        this.pendingWrites = taken.concat(this.pendingWrites);
        this.retryLimit = Math.ceil(taken.length / 2);
        this.onBackgroundError(err);
        this.flushTimer ??= setTimeout(() => this.writePending(), 1000).unref();
      },
    ).finally(() => {
      this.writing = null;
      if (this.pendingWrites.length > 0 && !this.closed) this.flushTimer ??= setTimeout(() => this.writePending(), FLUSH_DELAY_MS).unref();
    });
  }

  /**
   * The hooks a claim visits. Alone on the database and leasing on store, this process knows
   * which hooks have jobs in the table that it does not hold: those in storeBacklog and those with
   * a retry due. It visits only those, and every hook once a second (leases that ran out, and
   * anything else missed), so that a claim the buffer served does not probe every hook for nothing.
   */
  private async hooksForClaim(now: number): Promise<string[]> {
    if (!this.leasesOnStore || now - this.visitedAllAt >= HOOK_LIST_TTL_MS || now < this.visitedAllAt) {
      this.visitedAllAt = now;
      return this.hooksToVisit(now);
    }
    const hooks = new Set(this.storeBacklog);
    for (const [hookId, dueAt] of this.retriesDue) if (dueAt <= now) hooks.add(hookId);
    return [...hooks];
  }

  /** A retry of the hook is due then (kept for hooksForClaim: the earliest one known). */
  private noteRetry(hookId: string, dueAt: number): void {
    if (!this.leasesOnStore) return;
    const known = this.retriesDue.get(hookId);
    if (known === undefined || dueAt < known) this.retriesDue.set(hookId, dueAt);
  }

  /** Hooks a claim visits: those told of since the last claim first, then every hook with pending jobs, from a different one each time. */
  private async hooksToVisit(now: number): Promise<string[]> {
    const all = await this.pendingHooks(now);
    const start = all.length > 0 ? this.rotation++ % all.length : 0;
    const first = [...this.hinted];
    this.hinted.clear();
    const seen = new Set(first);
    const rest: string[] = [];
    for (let i = 0; i < all.length; i++) {
      const hook = all[(start + i) % all.length]!;
      if (!seen.has(hook)) rest.push(hook);
    }
    return first.concat(rest);
  }

  /** The hooks with pending jobs, read again when the list is older than HOOK_LIST_TTL_MS (else with the hooks hinted since). */
  private async pendingHooks(now: number): Promise<string[]> {
    if (now - this.hookList.readAt >= HOOK_LIST_TTL_MS || this.hookList.readAt > now) {
      // One index probe per hook (a loose index scan: PostgreSQL has no skip scan of its own).
      const { rows } = await this.pool.query<{ hook_id: string }>(
        `WITH RECURSIVE hooks AS (
           (SELECT hook_id FROM jobs WHERE state = 'pending' ORDER BY hook_id LIMIT 1)
           UNION ALL
           SELECT (SELECT j.hook_id FROM jobs j WHERE j.state = 'pending' AND j.hook_id > hooks.hook_id ORDER BY j.hook_id LIMIT 1) FROM hooks WHERE hooks.hook_id IS NOT NULL
         ) SELECT hook_id FROM hooks WHERE hook_id IS NOT NULL`,
      );
      const hooks = rows.map((r) => r.hook_id);
      this.hookList = { hooks, listed: new Set(hooks), readAt: now };
      this.hinted.clear();
    }
    return this.hookList.hooks;
  }

  /** Hooks with new or rescheduled jobs: the next claim looks at them first, before the list is read again. */
  private hint(hookIds: Iterable<string>): void {
    for (const hookId of hookIds) {
      this.hinted.add(hookId);
      if (this.hookList.listed.has(hookId)) continue;
      this.hookList.listed.add(hookId);
      this.hookList.hooks.push(hookId);
    }
  }

  private async announce(client: pg.PoolClient, hookIds: readonly string[]): Promise<void> {
    const payload = [...new Set(hookIds)].join("\n");
    await client.query("SELECT pg_notify($1, $2)", [JOBS_CHANNEL, payload.length <= MAX_PAYLOAD ? payload : ""]);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private async listen(): Promise<void> {
    const client = pgClient(this.opts.url);
    client.on("notification", (msg) => {
      if (msg.channel !== JOBS_CHANNEL) return;
      if (msg.payload) this.hint(msg.payload.split("\n"));
      else this.hookList.readAt = 0;
      this.notify();
    });
    client.on("error", (err) => {
      this.onBackgroundError(err);
      this.relisten(client);
    });
    client.on("end", () => this.relisten(client));
    try {
      await client.connect();
      if (this.opts.exclusive) {
        const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [EXCLUSIVE_LOCK]);
        if (!rows[0]?.locked) throw new Error("another bridge process already uses this PostgreSQL database; a process with role all uses it alone (docs/postgres.md, \"Several processes\")");
      } else if (this.opts.shared) {
        const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock_shared($1) AS locked", [EXCLUSIVE_LOCK]);
        if (!rows[0]?.locked) throw new Error("a bridge process with role all uses this PostgreSQL database, alone; stop it before starting processes with other roles (docs/postgres.md, \"Several processes\")");
      }
      // Held while this run lives (and listens): other runs take its follow-ups over once it is gone.
      if (this.opts.runId) await client.query("SELECT pg_advisory_lock($1, hashtext($2))", [RUN_LOCK, this.opts.runId]);
      await client.query(`LISTEN ${JOBS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
  }

  /**
   * The listening connection broke: connect again in a second (jobs announced meanwhile are found
   * by the next claim). With `exclusive` the session lock went with it: no claims until it is
   * taken again (a process that took it meanwhile gives its error each second).
   */
  private relisten(broken: pg.Client): void {
    if (this.listener !== broken) return;
    this.listener = null;
    if (this.opts.exclusive || this.opts.shared) this.lockLost = true;
    broken.end().catch(() => undefined);
    this.scheduleListen();
  }

  /** Tries to listen again each second until it works or the queue is closed. */
  private scheduleListen(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.listen().then(
        () => {
          this.lockLost = false;
          // Whatever was announced while deaf is found by a fresh read of the hook list.
          this.hookList.readAt = 0;
          this.notify();
        },
        (err: unknown) => {
          this.onBackgroundError(err);
          this.scheduleListen();
        },
      );
    }, 1000).unref();
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      client.release();
      return result;
    } catch (err) {
      // A connection that cannot even roll back is not given to the next user.
      const broken = await client.query("ROLLBACK").then(() => undefined, (e: unknown) => e as Error);
      client.release(broken);
      throw err;
    }
  }
}

/**
 * How many of the outcomes waiting (oldest first) the next write takes: all, or after failed
 * writes `limit` (halved at each failure), so that one that cannot be written is soon alone. A
 * batch's members stay in one write.
 */
function writeSize(rows: readonly OutcomeRow[], limit: number | null): number {
  if (limit === null || limit >= rows.length) return rows.length;
  let n = Math.max(1, limit);
  while (n < rows.length && rows[n]!.job.batch && rows[n]!.job.batch?.id === rows[n - 1]!.job.batch?.id) n++;
  return n;
}

/** An outcome with only what is sure to be storable: the job's change and the attempt's numbers. */
function withoutTexts(row: OutcomeRow): OutcomeRow {
  const note = "(not stored: PostgreSQL refused this text)";
  return { ...row, reason: row.reason === null ? null : note, attempt: { ...row.attempt, error: row.attempt.error === null ? null : note, responseBody: null } };
}

/** A transaction's texts as PostgreSQL can store them (pgText); copied only where one holds a NUL (hook ids are the bridge's own). */
function storable(record: TransactionRecord): TransactionRecord {
  const hasNul = (text: string) => text.includes("\0");
  return {
    ...record,
    txnId: pgText(record.txnId),
    eventIds: record.eventIds.some(hasNul) ? record.eventIds.map(pgText) : record.eventIds,
    messages: record.messages.map((m) => (hasNul(m.eventId) || hasNul(m.roomId) || hasNul(m.body) ? { ...m, eventId: pgText(m.eventId), roomId: pgText(m.roomId), body: pgText(m.body) } : m)),
    followUps: record.followUps.map((f) => (hasNul(f.eventId) || hasNul(f.event) ? { ...f, eventId: pgText(f.eventId), event: pgText(f.event) } : f)),
  };
}

/** Locks and reads each hook's first due, unleased jobs (up to its fetch), with their events, skipping jobs other claims hold. */
async function lockCandidates(client: pg.PoolClient, plan: readonly HookFetch[], now: number): Promise<CandidateRow[]> {
  const { rows } = await client.query<CandidateRow>(
    `SELECT h.ord, j.id, j.hook_id, j.attempts, j.due_at, j.batch_id, j.batch_size, j.oldest, m.event_id, m.room_id, m.body
     FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS h(hook_id, want, ord)
     CROSS JOIN LATERAL (
       SELECT c.*, (SELECT min(o.id) FROM jobs o WHERE o.hook_id = h.hook_id AND o.state = 'pending') AS oldest
       FROM jobs c
       WHERE c.hook_id = h.hook_id AND c.state = 'pending' AND c.due_at + 0 <= $3 AND (c.lease_until IS NULL OR c.lease_until <= $3) -- (+ 0: as in mwb_claim_plain)
       ORDER BY c.id LIMIT h.want
       FOR UPDATE SKIP LOCKED
     ) j
     JOIN messages m ON m.id = j.message_id`,
    [pgArray(plan.map((p) => p.hookId)), pgArray(plan.map((p) => p.fetch)), now],
  );
  return rows;
}

/**
 * Whether a claim with these options takes a hook's jobs as plain ones (the buffer's): known,
 * neither strict nor batching. Skipped hooks count (a hook at its in-flight limit is skipped for
 * a moment; a paused one's jobs are given back once they waited too long).
 */
function claimsAsPlain(claim: ClaimOptions, hookId: string): boolean {
  return !claim.strictHooks?.has(hookId) && !claim.batching?.(hookId) && (!claim.onlyHooks || claim.onlyHooks(hookId));
}

/** Deliveries among claimed jobs: a batch (jobs with one tag next to each other) counts once. */
function countDeliveries(jobs: readonly ClaimedJob[]): number {
  let n = 0;
  for (let i = 0; i < jobs.length; i++) {
    const tag = jobs[i]!.batch;
    if (!tag || i === 0 || jobs[i - 1]!.batch?.id !== tag.id) n++;
  }
  return n;
}

/** The locked rows, per hook in the plan's order. */
function candidatesOf(rows: readonly CandidateRow[], plan: ReadonlyArray<{ hookId: string; fetch: number }>): HookCandidates[] {
  const byHook = plan.map((p) => ({ hookId: p.hookId, jobs: [] as ClaimedJob[], oldestPending: 0, moreWaiting: false, fetch: p.fetch }));
  for (const row of [...rows].sort((a, b) => a.ord - b.ord || a.id - b.id)) {
    const hook = byHook[row.ord - 1];
    if (!hook) continue;
    hook.oldestPending = row.oldest;
    hook.jobs.push({
      key: row.id, id: jobId(row.event_id, row.hook_id), eventId: row.event_id, hookId: row.hook_id, roomId: row.room_id, attempts: row.attempts, dueAt: row.due_at, body: row.body,
      ...(storedTag(row.batch_id, row.batch_size) ? { batch: storedTag(row.batch_id, row.batch_size) } : {}),
    });
  }
  for (const hook of byHook) hook.moreWaiting = hook.jobs.length >= hook.fetch;
  return byHook;
}
