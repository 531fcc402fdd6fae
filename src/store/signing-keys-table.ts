import type { Db } from "./database.js";
import { openSecret, sealSecret } from "./sealed-secret.js";

/** One stored secret, opened. */
export interface SigningKey {
  secret: string;
  /** null: the current key. */
  expiresAt: number | null;
}

/**
 * A hook's Standard Webhooks secrets, on either engine: the current one, plus old ones until their
 * grace ends. Signing reads them from memory (`active`); `reload` reads again what another process
 * changed.
 */
export interface SigningKeysStore {
  /** The secrets that sign now, newest first; expired ones are left out. */
  active(hookId: string, now?: number): string[];
  /** Makes `secret` current; the previous current one keeps signing for `graceMs`. */
  rotate(hookId: string, secret: string, graceMs: number, now?: number): Promise<void>;
  /** Stops signing; returns how many secrets there were. */
  clear(hookId: string): Promise<number>;
  /** Another process changed the hook's secrets (or any hook's, without an id): read them again. */
  reload(hookId?: string): Promise<void>;
}

/** The secrets that sign at `now`, newest first. */
export function activeSecrets(keys: readonly SigningKey[], now: number): string[] {
  return keys.filter((k) => k.expiresAt === null || k.expiresAt > now).map((k) => k.secret);
}

/** The SQLite engine's signing keys. Opened secrets are cached in memory, so signing reads no SQLite. */
export class SigningKeysTable implements SigningKeysStore {
  private readonly cache = new Map<string, SigningKey[]>();
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
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

  active(hookId: string, now = Date.now()): string[] {
    let keys = this.cache.get(hookId);
    if (!keys) {
      keys = this.q.all.all(hookId).map((r) => ({ secret: openSecret(this.key, r.secret_enc), expiresAt: r.expires_at }));
      this.cache.set(hookId, keys);
    }
    return activeSecrets(keys, now);
  }

  async rotate(hookId: string, secret: string, graceMs: number, now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      this.q.expire.run(now + graceMs, hookId);
      this.q.dropExpired.run(hookId, now);
      this.q.insert.run(hookId, sealSecret(this.key, secret), now);
    }).immediate(); // the queue writer thread commits on its own connection meanwhile
    this.cache.delete(hookId);
  }

  async clear(hookId: string): Promise<number> {
    this.cache.delete(hookId);
    return this.q.clear.run(hookId).changes;
  }

  async reload(hookId?: string): Promise<void> {
    if (hookId === undefined) this.cache.clear();
    else this.cache.delete(hookId);
  }
}
