import type { Db } from "./database.js";
import { openSecret, sealSecret } from "./sealed-secret.js";

/**
 * A hook's Standard Webhooks secrets: the current one, plus old ones until their grace ends.
 * Opened secrets are cached in memory, so signing reads no SQLite; a change made by another process
 * sharing the file drops the copy (`forgetCached`).
 */
export class SigningKeysTable {
  private readonly cache = new Map<string, Array<{ secret: string; expiresAt: number | null }>>();
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    /** Told after a hook's secrets changed (other processes drop their copy). */
    private readonly changed: (hookId: string) => void = () => undefined,
  ) {
    this.q = {
      all: db.prepare<[string], { secret_enc: Buffer; expires_at: number | null }>(
        "SELECT secret_enc, expires_at FROM signing_keys WHERE hook_id = ? ORDER BY created_at DESC, rowid DESC",
      ),
      expire: db.prepare("UPDATE signing_keys SET expires_at = ? WHERE hook_id = ? AND expires_at IS NULL"),
      dropExpired: db.prepare("DELETE FROM signing_keys WHERE hook_id = ? AND expires_at <= ?"),
      insert: db.prepare("INSERT INTO signing_keys (hook_id, secret_enc, created_at) VALUES (?, ?, ?)"),
      clear: db.prepare("DELETE FROM signing_keys WHERE hook_id = ?"),
    };
  }

  /** The secrets that sign now, newest first; expired ones are left out. */
  active(hookId: string, now = Date.now()): string[] {
    let keys = this.cache.get(hookId);
    if (!keys) {
      keys = this.q.all.all(hookId).map((r) => ({ secret: openSecret(this.key, r.secret_enc), expiresAt: r.expires_at }));
      this.cache.set(hookId, keys);
    }
    return keys.filter((k) => k.expiresAt === null || k.expiresAt > now).map((k) => k.secret);
  }

  /** Makes `secret` current; the previous current one keeps signing for `graceMs`. */
  rotate(hookId: string, secret: string, graceMs: number, now = Date.now()): void {
    this.db.transaction(() => {
      this.q.expire.run(now + graceMs, hookId);
      this.q.dropExpired.run(hookId, now);
      this.q.insert.run(hookId, sealSecret(this.key, secret), now);
    }).immediate(); // the queue writer thread commits on its own connection meanwhile
    this.cache.delete(hookId);
    this.changed(hookId);
  }

  clear(hookId: string): number {
    this.cache.delete(hookId);
    const cleared = this.q.clear.run(hookId).changes;
    if (cleared > 0) this.changed(hookId);
    return cleared;
  }

  /** Another process changed the hook's secrets: they are read from the store again. */
  forgetCached(hookId: string): void {
    this.cache.delete(hookId);
  }
}
