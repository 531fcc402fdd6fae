import type { ClaimOptions, ClaimedJob } from "./queue.js";

// A job waits in the buffer at most this long: the worker's lease is its request timeout plus a
// margin (30 s), and a job handed out must still have its timeout and some margin ahead of it.
const MAX_WAIT_MS = 15_000;

/** The lease a buffered job must have left to be handed out (at least half of it, and all but MAX_WAIT_MS). */
function leaseAhead(leaseMs: number): number {
  return Math.max(leaseMs / 2, leaseMs - MAX_WAIT_MS);
}

/**
 * Jobs a shared-store queue leased ahead of asking (a claim over the network costs about the same
 * for 8 jobs as for 64), handed out by later claims without a round trip. Only jobs of hooks that
 * neither batch nor keep strict order are kept here; a later claim takes them by the same rules
 * (skipped hooks, per-hook limit). Bounded by what one claim leases.
 */
export class ClaimBuffer {
  private jobs: Array<{ job: ClaimedJob; until: number }> = [];

  get size(): number {
    return this.jobs.length;
  }

  add(jobs: readonly ClaimedJob[], until: number): void {
    for (const job of jobs) this.jobs.push({ job, until });
  }

  /**
   * Takes up to `limit` jobs a claim with `opts` could take now. Jobs that waited here too long
   * (leaseAhead), or whose hook now batches or keeps strict order, are given back in `released`
   * (for the caller to unlease). `perHook` counts what this claim took of each hook already, and
   * is updated: one claim never exceeds the per-hook limit, whichever way its jobs came.
   */
  take(limit: number, opts: ClaimOptions, perHook = new Map<string, number>()): { taken: ClaimedJob[]; released: ClaimedJob[] } {
    const taken: ClaimedJob[] = [];
    const released: ClaimedJob[] = [];
    const kept: Array<{ job: ClaimedJob; until: number }> = [];
    const ahead = leaseAhead(opts.leaseMs);
    for (const entry of this.jobs) {
      const { job, until } = entry;
      const hookId = job.hookId;
      // A hook this process no longer knows (its room is being followed again) is given back too, not dropped.
      if (until - opts.now < ahead || opts.strictHooks?.has(hookId) || opts.batching?.(hookId) || (opts.onlyHooks && !opts.onlyHooks(hookId))) {
        released.push(job);
        continue;
      }
      const n = perHook.get(hookId) ?? 0;
      if (taken.length >= limit || opts.skipHooks?.has(hookId) || n >= (opts.perHookLimit ?? Infinity)) {
        kept.push(entry);
        continue;
      }
      perHook.set(hookId, n + 1);
      taken.push(job);
    }
    this.jobs = kept;
    return { taken, released };
  }

  /** Whether a claim that skips these hooks would find something here. */
  hasClaimable(skipHooks: ReadonlySet<string> | undefined): boolean {
    return this.jobs.some(({ job }) => !skipHooks?.has(job.hookId));
  }

  /** Forgets a hook's jobs (it was removed); returns them. */
  dropHook(hookId: string): ClaimedJob[] {
    const dropped = this.jobs.filter(({ job }) => job.hookId === hookId).map(({ job }) => job);
    this.jobs = this.jobs.filter(({ job }) => job.hookId !== hookId);
    return dropped;
  }

  /** Empties the buffer; returns what it held. */
  drain(): ClaimedJob[] {
    const all = this.jobs.map(({ job }) => job);
    this.jobs = [];
    return all;
  }
}

