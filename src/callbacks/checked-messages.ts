/**
 * Messages the Synapse module asked about, remembered until they arrive in a transaction: those
 * were judged before anyone saw them, so the fallback (redacting) must not judge them again. A
 * rewritten message has a new event id, so a message is named by room, sender and origin_server_ts,
 * which a rewrite keeps. Bounded in count and time: a message the homeserver rejected never comes.
 */
export class CheckedMessages {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly maxEntries = 100_000,
  ) {}

  static key(roomId: string, sender: string, originServerTs: number): string {
    return `${roomId}\n${sender}\n${originServerTs}`;
  }

  remember(key: string, now = Date.now()): void {
    this.seen.delete(key);
    this.seen.set(key, now + this.ttlMs);
    this.evict(now);
  }

  /** Whether the module asked about this message (kept until it expires: a message may come in two transactions). */
  has(key: string, now = Date.now()): boolean {
    const expires = this.seen.get(key);
    return expires !== undefined && expires > now;
  }

  get size(): number {
    return this.seen.size;
  }

  private evict(now: number): void {
    // Insertion order is expiry order (every entry lives ttlMs): drop from the front.
    for (const [key, expires] of this.seen) {
      if (expires > now && this.seen.size <= this.maxEntries) break;
      this.seen.delete(key);
    }
  }
}
