import { MAX_BATCH_EVENTS, batchWebhookId, formBatches, type BatchTag } from "../batch.js";
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
    if (opts.skipHooks?.has(hookId) || (opts.onlyHooks && !opts.onlyHooks(hookId))) continue;
    const strict = opts.strictHooks?.has(hookId) ?? false;
    const batching = opts.batching?.(hookId) ?? null;
    const groups = strict ? 1 : Math.min(opts.perHookLimit ?? Infinity, limit);
    plan.push({ hookId, strict, fetch: groups * (batching ? Math.max(1, batching.maxEvents) : 1) + 1 });
  }
  return plan;
}

/**
 * The hooks whose candidates end inside a batch tagged before (it may be larger than today's
 * max_events), and how many of their jobs to read instead so that it is seen whole.
 */
export function cutOffBatches(candidates: readonly HookCandidates[], plan: readonly HookFetch[]): HookFetch[] {
  const wider: HookFetch[] = [];
  candidates.forEach((hook, i) => {
    const last = hook.jobs.at(-1);
    if (!hook.moreWaiting || !last?.batch) return;
    const members = hook.jobs.filter((j) => j.batch?.id === last.batch!.id).length;
    if (members < last.batch.size) wider.push({ ...plan[i]!, fetch: plan[i]!.fetch + MAX_BATCH_EVENTS });
  });
  return wider;
}

/** The tags among the candidates with fewer members here than they were sent with. */
export function shortTags(candidates: readonly HookCandidates[]): string[] {
  const seen = new Map<string, { size: number; count: number }>();
  for (const hook of candidates) {
    for (const job of hook.jobs) {
      if (!job.batch) continue;
      const entry = seen.get(job.batch.id) ?? { size: job.batch.size, count: 0 };
      entry.count++;
      seen.set(job.batch.id, entry);
    }
  }
  return [...seen].filter(([, e]) => e.count < e.size).map(([id]) => id);
}

/**
 * Picks what to hand out, at most `limit` deliveries (a batch counts once), per hook at most
 * perHookLimit (`perHook`: what this claim took of each hook before, updated); a strict hook only
 * when its oldest pending job is among its candidates (so none of its is in flight or held by
 * another claim), and then one delivery. A batch tagged before goes with the same members. One
 * with members missing here waits while the store still has them pending (`tagPending`: a claim
 * elsewhere holds them for now); one that lost them for good (sent alone since) goes with those
 * left, under a webhook-id of its own — never under the old id with fewer members, which a
 * receiver that drops repeated ids would take for the first send. Returns the jobs in delivery
 * order; a batch's jobs carry its tag.
 */
export function selectClaim(
  candidates: readonly HookCandidates[], limit: number, opts: ClaimOptions, perHook = new Map<string, number>(), tagPending: ReadonlyMap<string, number> = new Map(),
): ClaimedJob[] {
  const claimed: ClaimedJob[] = [];
  let deliveries = 0;
  for (const hook of candidates) {
    if (deliveries >= limit) break;
    if (hook.jobs.length === 0) continue;
    const strict = opts.strictHooks?.has(hook.hookId) ?? false;
    if (strict && hook.jobs[0]!.key !== hook.oldestPending) continue;
    const before = perHook.get(hook.hookId) ?? 0;
    const max = strict ? 1 - before : Math.min((opts.perHookLimit ?? Infinity) - before, limit - deliveries);
    if (max <= 0) continue;
    const batching = opts.batching?.(hook.hookId) ?? null;
    if (!batching) {
      // A job sent in a batch before, whose hook no longer batches, goes alone (the worker sees no tag).
      const taken = hook.jobs.slice(0, max).map(({ batch: _, ...job }) => job);
      claimed.push(...taken);
      deliveries += taken.length;
      perHook.set(hook.hookId, before + taken.length);
      continue;
    }
    const { groups } = formBatches(hook.jobs, batching, opts.now, { maxGroups: max, moreWaiting: hook.moreWaiting });
    let sent = 0;
    for (const group of groups) {
      let tag = group.tag;
      if (tag && group.jobs.length < tag.size) {
        // Cut off by what was read (its other members come first in a later claim), or some are held elsewhere.
        if (hook.moreWaiting && group.jobs.at(-1) === hook.jobs.at(-1)) break;
        if ((tagPending.get(tag.id) ?? 0) > group.jobs.length) break;
        tag = { id: batchWebhookId(group.jobs.map((j) => j.id)), size: group.jobs.length };
      }
      claimed.push(...group.jobs.map((job) => (tag ? { ...job, batch: tag } : stripTag(job))));
      deliveries++;
      sent++;
    }
    perHook.set(hook.hookId, before + sent);
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
