/**
 * Runs each key's steps (a room's registry changes, a hook's health or held copy) one at a time,
 * in the order they were asked for. The store's
 * reads and writes are asynchronous (PostgreSQL): without this, a reload that read the store
 * first could land after a later change and put back what that change removed. Only the short
 * store-and-registry steps run here (never a homeserver request), so a key's queue stays short;
 * a key's entry goes once its queue is empty.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => T | Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(work);
    // A step that failed does not stop the key's next ones (its caller hears the failure).
    const tail = result.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /**
   * Like run, for a step that reads what is current when it starts (a follow): asked again while
   * one waits to start, the ask joins it instead of queueing a second. One such kind per serializer.
   */
  runJoining(key: string, work: () => Promise<void>): Promise<void> {
    const waiting = this.waiting.get(key);
    if (waiting) return waiting;
    const step = this.run(key, () => {
      this.waiting.delete(key);
      return work();
    });
    this.waiting.set(key, step);
    return step;
  }

  /** Resolves once every step asked for so far has run. */
  async idle(): Promise<void> {
    await Promise.all(this.tails.values());
  }

  /** Whether the room has steps queued or running. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Rooms with steps queued or running (tests: the map must not grow). */
  get size(): number {
    return this.tails.size;
  }
}
