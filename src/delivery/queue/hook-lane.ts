import type { ClaimedJob } from "./queue.js";

/**
 * One hook's pending jobs held in memory, so that claiming a job reads no SQL. Invariant: every
 * pending job of the hook whose key is ≤ `residentUpTo` is here (waiting, scheduled or in flight);
 * jobs with larger keys exist only in the store while `backlog` is set, and are loaded in key
 * order when the lane runs low. This bounds memory however long a receiver stays down.
 */
export class HookLane {
  /** Due jobs in key order (retries that came due are appended). */
  private ready: ClaimedJob[] = [];
  private readyHead = 0;
  /** False once a job went in behind a larger key (a retry that came due): batching sorts first. */
  private readySorted = true;
  /** Jobs due later (retries), a min-heap on dueAt. */
  private readonly scheduled: ClaimedJob[] = [];
  inFlight = 0;
  residentUpTo = 0;
  /** Pending jobs with keys above residentUpTo may exist in the store. */
  backlog = false;
  /** Bytes of event JSON of the jobs held here, counted by the queue (its byte bound). */
  bytes = 0;

  constructor(readonly hookId: string) {}

  /** Jobs held: waiting, scheduled and in flight. */
  get resident(): number {
    return this.ready.length - this.readyHead + this.scheduled.length + this.inFlight;
  }

  get waiting(): number {
    return this.ready.length - this.readyHead;
  }

  /** Adds a job in key order (fresh or loaded from the store). */
  add(job: ClaimedJob, now: number): void {
    if (job.dueAt > now) pushHeap(this.scheduled, job);
    else this.pushReady(job);
    if (job.key > this.residentUpTo) this.residentUpTo = job.key;
  }

  /** A job came back from a failed attempt: it waits until dueAt. */
  schedule(job: ClaimedJob): void {
    pushHeap(this.scheduled, job);
  }

  /** Moves scheduled jobs that are now due to the waiting line. */
  promoteDue(now: number): void {
    while (this.scheduled.length > 0 && this.scheduled[0]!.dueAt <= now) this.pushReady(popHeap(this.scheduled)!);
  }

  private pushReady(job: ClaimedJob): void {
    const last = this.ready.length > this.readyHead ? this.ready[this.ready.length - 1] : undefined;
    if (last && last.key > job.key) this.readySorted = false;
    this.ready.push(job);
  }

  /** The waiting jobs in key order (event order), for batching; take them with `takeFirst`. */
  waitingInKeyOrder(): readonly ClaimedJob[] {
    if (this.readyHead > 0) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    if (!this.readySorted) {
      this.ready.sort((a, b) => a.key - b.key);
      this.readySorted = true;
    }
    return this.ready;
  }

  /** Takes the first n jobs of `waitingInKeyOrder`. */
  takeFirst(n: number): ClaimedJob[] {
    const taken = this.waitingInKeyOrder().slice(0, n);
    this.ready = this.ready.slice(taken.length);
    return taken;
  }

  /** When the next retry held here is due, or null. */
  nextScheduledAt(): number | null {
    return this.scheduled[0]?.dueAt ?? null;
  }

  /** The next waiting job, or undefined. */
  take(): ClaimedJob | undefined {
    if (this.readyHead >= this.ready.length) return undefined;
    const job = this.ready[this.readyHead]!;
    this.ready[this.readyHead++] = undefined as unknown as ClaimedJob;
    // Compact now and then so the array does not grow without end.
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    return job;
  }

  /**
   * The oldest job held, for strictly ordered hooks (a retried job is the oldest: it went out
   * first). Returns it only if it is due; the caller claims it with `takeOldest`.
   */
  oldestIfDue(now: number): ClaimedJob | undefined {
    const oldest = this.oldest();
    return oldest && oldest.dueAt <= now ? oldest : undefined;
  }

  takeOldest(job: ClaimedJob): void {
    const i = this.ready.indexOf(job, this.readyHead);
    if (i >= 0) {
      this.ready.splice(i, 1);
      return;
    }
    const h = this.scheduled.indexOf(job);
    if (h >= 0) {
      const rest = this.scheduled.splice(h, 1);
      if (rest.length > 0) rebuildHeap(this.scheduled);
    }
  }

  private oldest(): ClaimedJob | undefined {
    let best: ClaimedJob | undefined;
    for (let i = this.readyHead; i < this.ready.length; i++) if (!best || this.ready[i]!.key < best.key) best = this.ready[i];
    for (const job of this.scheduled) if (!best || job.key < best.key) best = job;
    return best;
  }

  /** When the next held job is due (ms epoch), or null when none waits. */
  nextDueAt(): number | null {
    if (this.readyHead < this.ready.length) return this.ready[this.readyHead]!.dueAt;
    return this.scheduled[0]?.dueAt ?? null;
  }
}

function pushHeap(heap: ClaimedJob[], job: ClaimedJob): void {
  heap.push(job);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.dueAt <= heap[i]!.dueAt) break;
    [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
    i = parent;
  }
}

function popHeap(heap: ClaimedJob[]): ClaimedJob | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    siftDown(heap, 0);
  }
  return top;
}

function siftDown(heap: ClaimedJob[], start: number): void {
  let i = start;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let least = i;
    if (l < heap.length && heap[l]!.dueAt < heap[least]!.dueAt) least = l;
    if (r < heap.length && heap[r]!.dueAt < heap[least]!.dueAt) least = r;
    if (least === i) return;
    [heap[least], heap[i]] = [heap[i]!, heap[least]!];
    i = least;
  }
}

function rebuildHeap(heap: ClaimedJob[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
}
