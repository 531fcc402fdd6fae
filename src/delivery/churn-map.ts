/**
 * A map for entries that come and go many times a second (jobs in flight, requests waiting for
 * an answer), kept in a plain dictionary object instead of a Map.
 *
 * Why: once a Map has lived long enough to be in V8's old generation, so are its hash tables, and
 * a table it outgrows is only linked to its successor, entries left in place (for iterators).
 * Until the next full collection those dead tables count as roots in every young-generation
 * collection, keeping alive every value the Map ever held. On the delivery path that pinned each
 * delivered job and its event body: ~2.5 MB promoted per collection and 3–11 ms pauses on the
 * thread that answers the homeserver (bench, paced phase). A dictionary object clears a deleted
 * entry at once. Keys are all numbers or all strings.
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
