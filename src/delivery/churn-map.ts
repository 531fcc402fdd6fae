/**
 * A map for entries that come and go many times a second (jobs in flight, requests waiting for
 * an answer), kept in a plain dictionary object instead of a Map.
 *
 * Why: V8 links each hash table a Map outgrows to the table that replaces it. Once a long-lived
 * Map sits in the old generation, that chain keeps every later table — and every value those
 * tables held — alive through the young-generation collections until the next full one. On the
 * delivery path that pinned each delivered job and its event body: ~2.5 MB promoted per
 * collection and pauses of 8–11 ms on the thread that answers the homeserver (bench, paced phase).
 * A dictionary object drops a deleted entry's value at once. Keys are all numbers or all strings.
 */
export class ChurnMap<K extends number | string, V> {
  private entries: Record<string | number, V> = Object.create(null) as Record<string | number, V>;
  private count = 0;
  private numericKeys = false;

  get size(): number {
    return this.count;
  }

  get(key: K): V | undefined {
    return this.entries[key];
  }

  has(key: K): boolean {
    return key in this.entries;
  }

  set(key: K, value: V): this {
    if (!(key in this.entries)) {
      this.count++;
      this.numericKeys = typeof key === "number";
    }
    this.entries[key] = value;
    return this;
  }

  delete(key: K): boolean {
    if (!(key in this.entries)) return false;
    delete this.entries[key];
    this.count--;
    return true;
  }

  clear(): void {
    this.entries = Object.create(null) as Record<string | number, V>;
    this.count = 0;
  }

  *values(): Generator<V> {
    for (const key in this.entries) yield this.entries[key]!;
  }

  /** Entries in no set order (a dictionary's); deleting the current entry while iterating is safe. */
  *[Symbol.iterator](): Generator<[K, V]> {
    for (const key in this.entries) yield [(this.numericKeys ? Number(key) : key) as K, this.entries[key]!];
  }
}
