import { formBatches, type BatchTag } from "../batch.js";
import type { ClaimOptions, ClaimedJob } from "./queue.js";

/**
 * What a shared store's claim takes from the jobs it locked: pure, so that each engine that reads
 * candidates from SQL (PostgreSQL) follows the same rules as the embedded queue's lanes.
 */
export interface HookCandidates {
  hookId: string;
  /** Due, unleased jobs of the hook that this claim locked, in key order. */
  jobs: ClaimedJob[];
  /** The key of the hook's oldest pending job (due or not, leased or not): strict order starts there. */
  oldestPending: number;
  /** The store may hold more due jobs of the hook than were read. */
  moreWaiting: boolean;
}

export interface HookFetch {
  hookId: string;
  strict: boolean;
  /** How many due jobs to read: enough for what the claim could take, plus one to see if more wait. */
  fetch: number;
}

/** How many of each hook's due jobs a claim of `limit` deliveries reads (hooks in the order to serve them). */
export function fetchPlan(hookIds: readonly string[], limit: number, opts: ClaimOptions): HookFetch[] {
  const plan: HookFetch[] = [];
  for (const hookId of hookIds) {
    if (opts.skipHooks?.has(hookId)) continue;
    const strict = opts.strictHooks?.has(hookId) ?? false;
    const batching = opts.batching?.(hookId) ?? null;
    const groups = strict ? 1 : Math.min(opts.perHookLimit ?? Infinity, limit);
    plan.push({ hookId, strict, fetch: groups * (batching ? Math.max(1, batching.maxEvents) : 1) + 1 });
  }
  return plan;
}

/**
 * Picks what to hand out, at most `limit` deliveries (a batch counts once), per hook at most
 * perHookLimit; a strict hook only when its oldest pending job is among its candidates (so none
 * of its is in flight or held by another claim), and then one delivery. A batch tagged before goes
 * with all its members or waits (a claim elsewhere holds some of them). Returns the jobs in
 * delivery order; a batch's jobs carry its tag.
 */
export function selectClaim(candidates: readonly HookCandidates[], limit: number, opts: ClaimOptions): ClaimedJob[] {
  const claimed: ClaimedJob[] = [];
  let deliveries = 0;
  for (const hook of candidates) {
    if (deliveries >= limit) break;
    if (hook.jobs.length === 0) continue;
    const strict = opts.strictHooks?.has(hook.hookId) ?? false;
    if (strict && hook.jobs[0]!.key !== hook.oldestPending) continue;
    const max = strict ? 1 : Math.min(opts.perHookLimit ?? Infinity, limit - deliveries);
    const batching = opts.batching?.(hook.hookId) ?? null;
    if (!batching) {
      // A job sent in a batch before, whose hook no longer batches, goes alone (the worker sees no tag).
      const taken = hook.jobs.slice(0, max).map(({ batch: _, ...job }) => job);
      claimed.push(...taken);
      deliveries += taken.length;
      continue;
    }
    const { groups } = formBatches(hook.jobs, batching, opts.now, { maxGroups: max, moreWaiting: hook.moreWaiting });
    for (const group of groups) {
      if (group.tag && group.jobs.length < group.tag.size) break;
      claimed.push(...group.jobs.map((job) => (group.tag ? { ...job, batch: group.tag } : stripTag(job))));
      deliveries++;
    }
  }
  return claimed;
}

function stripTag(job: ClaimedJob): ClaimedJob {
  const { batch: _, ...rest } = job;
  return rest;
}

/** A stored batch tag (two columns) as the job's tag, or none. */
export function storedTag(batchId: string | null, batchSize: number | null): BatchTag | undefined {
  return batchId !== null && batchSize !== null && batchSize > 0 ? { id: batchId, size: batchSize } : undefined;
}
