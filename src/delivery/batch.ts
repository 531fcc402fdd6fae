import { hash } from "node:crypto";

/**
 * Batched deliveries (docs/batching.md): up to `maxEvents` events of a hook in one request, sent at
 * most `maxWaitMs` after the oldest of them became due. Pure functions, shared by every queue
 * engine: the engine holds a lane's due jobs in key order and asks `formBatches` which to hand out.
 */
export interface BatchSettings {
  maxEvents: number;
  maxWaitMs: number;
}

export const MIN_BATCH_EVENTS = 1;
export const MAX_BATCH_EVENTS = 100;
export const MIN_BATCH_WAIT_MS = 0;
export const MAX_BATCH_WAIT_MS = 60_000;
export const DEFAULT_BATCH_EVENTS = 10;
export const DEFAULT_BATCH_WAIT_MS = 1000;

/** The header that tells a receiver how many events a batch holds. */
export const BATCH_SIZE_HEADER = "x-matrix-hookshot-batch-size";

/** A job's batch, set by the queue when it hands the job out in one: a retry sends the same members again. */
export interface BatchTag {
  /** The batch's webhook-id (batchWebhookId of its members' job ids). */
  id: string;
  /** How many jobs it holds. */
  size: number;
}

/** What formBatches needs to know of a job. */
export interface BatchableJob {
  /** The job's own webhook-id (stable per event and hook). */
  id: string;
  roomId: string;
  dueAt: number;
  /** The event as JSON (whether it must go alone depends on it). */
  body: string;
  batch?: BatchTag;
}

/** How one lane batches: its settings, and which jobs must go alone (media sent as multipart). */
export interface LaneBatching extends BatchSettings {
  alone(job: BatchableJob): boolean;
}

export interface FormedBatches<J> {
  /** What to send now, in order: a batch (tagged), or one job alone (untagged, a single delivery). */
  groups: Array<{ jobs: J[]; tag: BatchTag | null }>;
  /** When the first group that is not ready yet will be (its oldest job's due time plus the wait), or null. */
  readyAt: number | null;
}

/**
 * Splits a lane's due jobs (in key order, i.e. event order) into what to send now, at most
 * `maxGroups` requests. Rules, in order:
 * - jobs sent in a batch before (a retry, or a lease that ran out) go again with the same members;
 * - a job that must go alone (media) goes alone, and closes the batch before it, which keeps order;
 * - otherwise up to maxEvents consecutive jobs of one room; such a batch goes once it is full, once
 *   something waits behind it (it cannot grow without breaking order), once `moreWaiting` says more
 *   are in the store, or once its oldest job has waited maxWaitMs. Else nothing after it goes yet.
 */
export function formBatches<J extends BatchableJob>(due: readonly J[], lane: LaneBatching, now: number, opts: { maxGroups: number; moreWaiting: boolean }): FormedBatches<J> {
  const groups: FormedBatches<J>["groups"] = [];
  const max = Math.max(1, lane.maxEvents);
  let i = 0;
  while (i < due.length && groups.length < opts.maxGroups) {
    const first = due[i]!;
    if (first.batch) {
      const tag = first.batch;
      let end = i + 1;
      while (end < due.length && end - i < tag.size && due[end]!.batch?.id === tag.id) end++;
      groups.push({ jobs: due.slice(i, end), tag });
      i = end;
      continue;
    }
    if (lane.alone(first)) {
      groups.push({ jobs: [first], tag: null });
      i++;
      continue;
    }
    let end = i + 1;
    while (end < due.length && end - i < max && fitsAfter(due[end]!, first, lane)) end++;
    const closed = end - i >= max || end < due.length || opts.moreWaiting;
    if (!closed && first.dueAt + lane.maxWaitMs > now) return { groups, readyAt: first.dueAt + lane.maxWaitMs };
    const jobs = due.slice(i, end);
    groups.push({ jobs, tag: { id: batchWebhookId(jobs.map((j) => j.id)), size: jobs.length } });
    i = end;
  }
  return { groups, readyAt: null };
}

function fitsAfter(job: BatchableJob, first: BatchableJob, lane: LaneBatching): boolean {
  return job.batch === undefined && job.roomId === first.roomId && !lane.alone(job);
}

/**
 * The webhook-id of a batch: derived from its members' job ids in order, so a retry of the same
 * batch carries the same id, and a batch with other members another.
 */
export function batchWebhookId(jobIds: readonly string[]): string {
  return "batch_" + hash("sha256", jobIds.join("\0"), "base64url").slice(0, 32);
}

/** A batch's body: the members' JSON bodies, each exactly as it would have been sent alone, as one JSON array. */
export function batchBody(parts: readonly string[]): string {
  return `[${parts.join(",")}]`;
}

/** Consecutive claimed jobs of one batch belong together; every other job goes alone. */
export function groupClaimed<J extends { hookId: string; batch?: BatchTag }>(jobs: readonly J[]): J[][] {
  const groups: J[][] = [];
  for (const job of jobs) {
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && job.batch && prev.batch?.id === job.batch.id && prev.hookId === job.hookId) last.push(job);
    else groups.push([job]);
  }
  return groups;
}
