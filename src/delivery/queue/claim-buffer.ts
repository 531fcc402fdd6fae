import { ChurnMap } from "../churn-map.js";
import type { ClaimOptions, ClaimedJob } from "./queue.js";

// A job waits in the buffer at most this long: the worker's lease is its request timeout plus a
// margin (30 s), and a job handed out must still have its timeout and some margin ahead of it.
const MAX_WAIT_MS = 15_000;
// Every job's lease is looked at this often (a hook's first job at every take): far below the
// margin of leaseAhead, so none is held past its lease.
const SWEEP_EVERY_MS = 1000;

/** The lease a buffered job must have left to be handed out (at least half of it, and all but MAX_WAIT_MS). */
function leaseAhead(leaseMs: number): number {
  return Math.max(leaseMs / 2, leaseMs - MAX_WAIT_MS);
}

// A claim's `now` is read before it starts: jobs leased while it runs end up to this much later.
const CLAIM_TIME_SLACK_MS = 5000;

/**
 * Whether a buffered job may go to a claim asking for `leaseMs`: enough of its lease left, and
 * no more than the claim asked for (a job leased for longer would come back later than the claim
 * says, should its worker die).
 */
function handsOut(until: number, now: number, leaseMs: number): boolean {
  const left = until - now;
  return left >= leaseAhead(leaseMs) && left <= leaseMs + CLAIM_TIME_SLACK_MS;
}

interface Entry {
  job: ClaimedJob;
  until: number;
}

/** One hook's buffered jobs, oldest first (the slots before `head` are taken and emptied). */
interface HookLine {
  entries: Array<Entry | undefined>;
  head: number;
}

/**
 * Jobs a shared-store queue leased ahead of asking (a claim over the network costs about the same
 * for 8 jobs as for 64), or leased as they were stored, handed out by later claims without a
 * round trip. Only jobs of hooks that neither batch nor keep strict order are kept here; a later
 * claim takes them by the same rules (skipped hooks, per-hook limit). Kept per hook, oldest
 * first, so that a take costs one step per hook and per job it takes, however many wait.
 */
export class ClaimBuffer {
  // Lines come and go with each hook's bursts, and a line holds its jobs' event bodies: a ChurnMap,
  // so that a dead line is not kept alive by an outgrown Map table (churn-map.ts).
  private readonly lines = new ChurnMap<string, HookLine>();
  private count = 0;
  private bodyBytes = 0;
  private rotation = 0;
  private sweptAt = -Infinity;

  get size(): number {
    return this.count;
  }

  /** Jobs held of one hook. */
  countOf(hookId: string): number {
    const line = this.lines.get(hookId);
    return line ? line.entries.length - line.head : 0;
  }

  /** Bytes of event JSON held. */
  get bytes(): number {
    return this.bodyBytes;
  }

  add(jobs: readonly ClaimedJob[], until: number): void {
    for (const job of jobs) {
      let line = this.lines.get(job.hookId);
      if (!line) this.lines.set(job.hookId, (line = { entries: [], head: 0 }));
      line.entries.push({ job, until });
      this.count++;
      this.bodyBytes += job.body.length;
    }
  }

  /**
   * Takes up to `limit` jobs a claim with `opts` could take now, from a different hook first each
   * time. Jobs that waited here too long (leaseAhead) or were leased for longer than the claim
   * asks, or whose hook now batches or keeps strict order, are given back in `released` (for the caller to unlease). `perHook` counts what this
   * claim took of each hook already, and is updated: one claim never exceeds the per-hook limit,
   * whichever way its jobs came.
   */
  take(limit: number, opts: ClaimOptions, perHook = new Map<string, number>()): { taken: ClaimedJob[]; released: ClaimedJob[] } {
    const taken: ClaimedJob[] = [];
    const released: ClaimedJob[] = [];
    const sweep = opts.now - this.sweptAt >= SWEEP_EVERY_MS || opts.now < this.sweptAt;
    if (sweep) this.sweptAt = opts.now;
    const hooks = [...this.lines.keys()];
    const start = hooks.length > 0 ? this.rotation++ % hooks.length : 0;
    for (let i = 0; i < hooks.length; i++) {
      const hookId = hooks[(start + i) % hooks.length]!;
      const line = this.lines.get(hookId)!;
      // A hook this process no longer knows (its room is being followed again) is given back too, not dropped.
      if (opts.strictHooks?.has(hookId) || opts.batching?.(hookId) || (opts.onlyHooks && !opts.onlyHooks(hookId))) {
        for (let k = line.head; k < line.entries.length; k++) released.push(line.entries[k]!.job);
        this.forget(hookId, line);
        continue;
      }
      if (sweep) this.releaseUnusable(line, opts, released);
      let n = perHook.get(hookId) ?? 0;
      const max = opts.skipHooks?.has(hookId) ? 0 : (opts.perHookLimit ?? Infinity);
      while (line.head < line.entries.length && taken.length < limit && n < max) {
        const entry = line.entries[line.head]!;
        // Emptied as it is taken: a delivered job's body is not kept alive until the line compacts.
        line.entries[line.head] = undefined;
        line.head++;
        this.count--;
        this.bodyBytes -= entry.job.body.length;
        if (!handsOut(entry.until, opts.now, opts.leaseMs)) {
          released.push(entry.job);
          continue;
        }
        taken.push(entry.job);
        n++;
      }
      if (n > 0) perHook.set(hookId, n);
      if (line.head >= line.entries.length) this.lines.delete(hookId);
      else if (line.head > 1024 && line.head * 2 > line.entries.length) {
        line.entries = line.entries.slice(line.head);
        line.head = 0;
      }
    }
    return { taken, released };
  }

  /** Whether a claim that skips these hooks would find something here. */
  hasClaimable(skipHooks: ReadonlySet<string> | undefined): boolean {
    for (const hookId of this.lines.keys()) if (!skipHooks?.has(hookId)) return true;
    return false;
  }

  /** Forgets a hook's jobs (it was removed); returns them. */
  dropHook(hookId: string): ClaimedJob[] {
    const line = this.lines.get(hookId);
    if (!line) return [];
    const dropped = line.entries.slice(line.head).map((e) => e!.job);
    this.forget(hookId, line);
    return dropped;
  }

  /** Empties the buffer; returns what it held. */
  drain(): ClaimedJob[] {
    const all: ClaimedJob[] = [];
    for (const [hookId, line] of this.lines) {
      for (let k = line.head; k < line.entries.length; k++) all.push(line.entries[k]!.job);
      this.forget(hookId, line);
    }
    return all;
  }

  /** Moves the jobs of a line that a claim with `opts` could not take (handsOut) to `released`, keeping the order of the rest. */
  private releaseUnusable(line: HookLine, opts: ClaimOptions, released: ClaimedJob[]): void {
    const kept: Entry[] = [];
    for (let k = line.head; k < line.entries.length; k++) {
      const entry = line.entries[k]!;
      if (handsOut(entry.until, opts.now, opts.leaseMs)) {
        kept.push(entry);
        continue;
      }
      released.push(entry.job);
      this.count--;
      this.bodyBytes -= entry.job.body.length;
    }
    line.entries = kept;
    line.head = 0;
  }

  private forget(hookId: string, line: HookLine): void {
    for (let k = line.head; k < line.entries.length; k++) this.bodyBytes -= line.entries[k]!.job.body.length;
    this.count -= line.entries.length - line.head;
    this.lines.delete(hookId);
  }
}
