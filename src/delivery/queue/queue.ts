import type { BatchTag, LaneBatching } from "../batch.js";

/** A Matrix event to deliver, and the hooks it goes to. */
export interface OutboundMessage {
  eventId: string;
  /** The event's origin_server_ts (0 when it has none): with the event id, it names the event in the store. */
  originTs: number;
  roomId: string;
  /** The event as JSON, exactly what receivers get (before per-format rendering). */
  body: string;
  hookIds: readonly string[];
}

/**
 * What to replay: one event, named by its id and origin_server_ts (null when the homeserver no
 * longer shows the event: then only the hook's dead letters are searched, by id), or every dead letter.
 */
export type ReplayWhich = { eventId: string; originTs: number | null } | { dead: true };

/** One claimed delivery: ids, the attempt count so far, and the event body. */
export interface ClaimedJob {
  /** The store's key for the job (it only grows). */
  key: number;
  /** msg_ + hash(event id, hook id): the webhook-id receivers see, the same for every attempt. */
  id: string;
  eventId: string;
  hookId: string;
  roomId: string;
  /** Attempts already made before this one. */
  attempts: number;
  /** When the job is (or was) due, ms epoch. */
  dueAt: number;
  body: string;
  /** Set when the queue handed the job out in a batch (its hook batches): a retry keeps the same members. */
  batch?: BatchTag;
}

/**
 * Work an event asks for after the homeserver's 200 (a bot command, the bot's own membership, a
 * redaction that may remove a hook), stored with its transaction and named by its event: the same
 * event stored again (under any transaction id) is not run a second time.
 */
export interface FollowUp {
  eventId: string;
  /** The transaction that brought it first. */
  txnId: string;
  /** The event, as JSON. */
  event: string;
}

/** What one homeserver transaction asks the queue to store, in one commit. */
export interface TransactionRecord {
  txnId: string;
  /** Every event handled under this id so far: those of earlier uses of the id, and these. */
  eventIds: readonly string[];
  messages: readonly OutboundMessage[];
  followUps: ReadonlyArray<{ eventId: string; event: string }>;
}

/** What storing a transaction did: how many new jobs, and per follow-up whether it was new (else stored before: not to run again). */
export interface StoredTransaction {
  jobs: number;
  newFollowUps: readonly boolean[];
}

export interface AttemptRecord {
  outcome: "success" | "retry" | "failed" | "dropped";
  status: number | null;
  error: string | null;
  durationMs: number;
  responseBody: string | null;
}

/**
 * The delivery queue. Contract: `storeTransaction` is atomic — either every job and follow-up of a
 * homeserver transaction is stored and the transaction marked handled, or nothing is; a job id is stable for
 * (event, hook), so enqueueing the same pair twice stores one job. A claimed job is leased: if
 * its worker never reports back, it becomes due again when the lease ends.
 */
export interface DeliveryQueue {
  /**
   * The ids of the events handled under this transaction id (empty when it was handled before
   * they were kept), or null when the id is new. Reads the store only for the id itself.
   */
  handledEvents(txnId: string): Promise<ReadonlySet<string> | null>;
  /**
   * Stores the transaction's jobs and follow-ups and marks it handled with its events' ids;
   * resolves once committed. Follow-ups already stored (by event id) are not stored again.
   */
  storeTransaction(txn: TransactionRecord): Promise<StoredTransaction>;
  /**
   * storeTransaction if the id is new, in the same round trip as the check (queues whose reads
   * cross a network): a seen id stores nothing and resolves with its handled events' ids, for the
   * caller to handle it as usual (handledEvents, then only the events new to it). With
   * `roomVersions` (each room's version of the hooks it was routed with, as RoomFollower keeps
   * them), it stores nothing either when another process changed one of those rooms' hooks since,
   * and resolves with those rooms (`stale`), for the caller to route it again with their new hooks.
   */
  storeNewTransaction?(txn: TransactionRecord, roomVersions?: ReadonlyMap<string, number>): Promise<StoredTransaction | { seen: ReadonlySet<string> } | { stale: readonly string[] }>;
  /** Follow-ups stored and not yet done (a previous process stopped before finishing them), oldest first. */
  pendingFollowUps(): Promise<FollowUp[]>;
  /**
   * Whether this process may run a follow-up it queued: false once it is done, or when another
   * process took it over (thinking this one dead: its session lock was lost for a while).
   */
  ownsFollowUp(eventId: string): Promise<boolean>;
  /** Marks a follow-up done once its work has run (or failed for good); kept for the retention period. */
  followUpDone(eventId: string): Promise<void>;
  /**
   * Leases up to `limit` due deliveries: a job, or (a hook that batches, `ClaimOptions.batching`)
   * a batch of jobs, which counts once. A batch's jobs are returned next to each other, in key
   * order, each with the same `batch` tag; a batch is never split over two claims.
   */
  claimDue(limit: number, opts: ClaimOptions): Promise<ClaimedJob[]>;
  /**
   * The outcomes of an attempt. They are recorded at once (a stale report, of a lease that ran
   * out, is ignored) and stored in the background; `flush` waits for them.
   */
  complete(job: ClaimedJob, attempt: AttemptRecord): void;
  retryAt(job: ClaimedJob, dueAt: number, attempt: AttemptRecord): void;
  deadLetter(job: ClaimedJob, reason: string, attempt: AttemptRecord): void;
  /**
   * When the next job that a claim with these options could take becomes due (ms epoch), or
   * null when there is none: skipped hooks are left out, strict hooks count only their oldest job.
   * A shared store may answer earlier than that (a time to look again: jobs leased elsewhere).
   */
  nextDueAt(opts?: Pick<ClaimOptions, "skipHooks" | "strictHooks" | "batching">): Promise<number | null>;
  /** Jobs waiting or in flight. */
  depth(): Promise<number>;
  /** Drops every pending job of a hook (it was removed). */
  cancelHook(hookId: string): Promise<number>;
  /** Queues finished deliveries of a hook again: one event's, or every dead letter. Resolves with how many. */
  replay(hookId: string, which: ReplayWhich, now?: number): Promise<number>;
  /** The stored event JSON the job with this key delivers (while the job is kept), or null. */
  eventForJob(jobKey: number): Promise<string | null>;
  /** Numbers and recent attempts for `!hooks outbound status`. */
  hookStatus(hookId: string, recentAttempts: number): Promise<HookQueueStatus>;
  /** Forgets finished jobs, attempts, handled transaction ids and done follow-ups older than the cutoff. */
  prune(olderThan: number): Promise<number>;
  /** Resolves once the outcomes recorded so far are stored. */
  flush(): Promise<void>;
  /** Stores what is left and releases the queue's resources. */
  close(): Promise<void>;
  /** Listener called after new jobs are enqueued, so workers wake at once instead of polling. */
  onEnqueue(listener: () => void): void;
}

export interface ClaimOptions {
  now: number;
  /** How long a claimed job stays invisible to other claims. */
  leaseMs: number;
  /** Hooks not to claim for now (suspended, or at their in-flight limit). */
  skipHooks?: ReadonlySet<string>;
  /** At most this many jobs of one hook in one claim. */
  perHookLimit?: number;
  /** Hooks whose events go strictly in order: only their oldest pending job, and only when none is in flight. */
  strictHooks?: ReadonlySet<string>;
  /**
   * How a hook batches, or null when it does not. For such a hook the queue hands out what
   * `formBatches` (src/delivery/batch.ts) says is ready, over its due jobs in key order;
   * `perHookLimit` and `limit` then count batches. A strict hook's next batch waits until none is in flight.
   */
  batching?: (hookId: string) => LaneBatching | null;
  /**
   * Only these hooks' jobs (a shared store, PostgreSQL): a process that follows another's rooms
   * claims none of a hook it has not heard of yet, which may keep strict order or batch.
   */
  onlyHooks?: (hookId: string) => boolean;
}

export interface AttemptSummary {
  eventId: string;
  attempt: number;
  outcome: string;
  status: number | null;
  error: string | null;
  durationMs: number;
  at: number;
}

export interface HookQueueStatus {
  pending: number;
  dead: number;
  delivered: number;
  recent: AttemptSummary[];
}

/**
 * A handled transaction's event ids as stored (a JSON array, or null for an id handled before
 * they were kept). Unreadable ones count as unseen, as for such an id.
 */
export function handledEventIds(json: string | null): ReadonlySet<string> {
  let ids: unknown = null;
  try {
    ids = json === null ? null : JSON.parse(json);
  } catch {
    // Not readable: its events count as unseen.
  }
  return new Set(Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : []);
}
