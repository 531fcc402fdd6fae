import type { ClaimOptions, ClaimedJob } from "./queue.js";

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
   * Takes up to `limit` jobs a claim with `opts` could take now. Jobs whose lease has less than
   * half its length left, or whose hook now batches or keeps strict order, are given back in
   * `released` (for the caller to unlease): a worker must get a job with its lease ahead of it.
   */
  take(limit: number, opts: ClaimOptions): { taken: ClaimedJob[]; released: ClaimedJob[] } {
    const taken: ClaimedJob[] = [];
    const released: ClaimedJob[] = [];
    const kept: Array<{ job: ClaimedJob; until: number }> = [];
    const perHook = new Map<string, number>();
    for (const entry of this.jobs) {
      const { job, until } = entry;
      const hookId = job.hookId;
      if (until - opts.now < opts.leaseMs / 2 || opts.strictHooks?.has(hookId) || opts.batching?.(hookId)) {
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
