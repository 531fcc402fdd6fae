import { formBatches, type LaneBatching } from "../batch.js";
import type { HookLane } from "./hook-lane.js";
import type { ClaimOptions, ClaimedJob } from "./queue.js";

/**
 * A batching hook's claim from its lane: what formBatches says is ready over its waiting jobs in
 * key order, at most `left` (and perHookLimit) deliveries; a strict hook's only when none of its is
 * in flight, and only once its oldest job (a retry, maybe) is due. `lease` hands each job out; a
 * batch's jobs get its tag, so a retry sends the same members again.
 */
export function claimBatches(
  lane: HookLane, batching: LaneBatching, opts: ClaimOptions, left: number, lease: (job: ClaimedJob) => ClaimedJob,
): { jobs: ClaimedJob[]; deliveries: number } {
  const { now } = opts;
  const strict = opts.strictHooks?.has(lane.hookId) ?? false;
  if (strict && (lane.inFlight > 0 || !lane.oldestIfDue(now))) return { jobs: [], deliveries: 0 };
  lane.promoteDue(now);
  const maxGroups = strict ? 1 : Math.min(opts.perHookLimit ?? Infinity, left);
  const { groups } = formBatches(lane.waitingInKeyOrder(), batching, now, { maxGroups, moreWaiting: lane.backlog });
  // The groups are the first waiting jobs, in order: take exactly those.
  lane.takeFirst(groups.reduce((n, g) => n + g.jobs.length, 0));
  const jobs: ClaimedJob[] = [];
  for (const group of groups) for (const job of group.jobs) jobs.push(lease(group.tag ? { ...job, batch: group.tag } : job));
  return { jobs, deliveries: groups.length };
}

/** When a batching lane next has something to hand out (ms epoch; Infinity: nothing): a batch ready now or once it waited long enough, or a retry coming due. */
export function batchReadyAt(lane: HookLane, batching: LaneBatching, now: number, strict: boolean): number {
  const retry = lane.nextScheduledAt() ?? Infinity;
  if (strict) {
    const oldest = lane.oldestIfDue(Infinity);
    if (!oldest) return Infinity;
    if (oldest.dueAt > now) return oldest.dueAt;
  }
  lane.promoteDue(now);
  const formed = formBatches(lane.waitingInKeyOrder(), batching, now, { maxGroups: 1, moreWaiting: lane.backlog });
  if (formed.groups.length > 0) return now;
  return Math.min(formed.readyAt ?? Infinity, strict ? Infinity : retry);
}
