/**
 * What a process holds in memory of rows other processes may change, per hook. A read may land
 * after a write (or a later read) of this process that it did not see: `readAt` (the clock when
 * the read began) keeps it from putting back what is older than the copy held.
 */
export class HeldCopies<T> {
  private clock = 0;
  private readonly values = new Map<string, T>();
  /** When each id last changed here; kept after a delete, so that a read begun before it cannot hold the row again. */
  private readonly touchedAt = new Map<string, number>();

  /** Taken when a read begins; given back with what it read. */
  readStarts(): number {
    return this.clock;
  }

  get(id: string): T | undefined {
    return this.values.get(id);
  }

  ids(): IterableIterator<string> {
    return this.values.keys();
  }

  /** Holds the value unless it was read (at `readAt`) before the copy last changed; returns whether it did. */
  set(id: string, value: T, readAt?: number): boolean {
    if (this.older(id, readAt)) return false;
    this.values.set(id, value);
    this.touchedAt.set(id, ++this.clock);
    return true;
  }

  delete(id: string, readAt?: number): boolean {
    if (this.older(id, readAt)) return false;
    this.values.delete(id);
    this.touchedAt.set(id, ++this.clock);
    return true;
  }

  private older(id: string, readAt: number | undefined): boolean {
    return readAt !== undefined && (this.touchedAt.get(id) ?? -1) > readAt;
  }
}
