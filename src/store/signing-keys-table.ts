import type { Db } from "./database.js";
import { openSecret, sealSecret } from "./sealed-secret.js";

/** A hook's Standard Webhooks secrets: the current one, plus old ones until their grace ends. */
export class SigningKeysTable {
  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {}

  /** The secrets that sign now, newest first; expired ones are left out. */
  active(hookId: string, now = Date.now()): string[] {
    const rows = this.db
      .prepare<[string, number], { secret_enc: Buffer }>(
        "SELECT secret_enc FROM signing_keys WHERE hook_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, rowid DESC",
      )
      .all(hookId, now);
    return rows.map((r) => openSecret(this.key, r.secret_enc));
  }

  /** Makes `secret` current; the previous current one keeps signing for `graceMs`. */
  rotate(hookId: string, secret: string, graceMs: number, now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE signing_keys SET expires_at = ? WHERE hook_id = ? AND expires_at IS NULL").run(now + graceMs, hookId);
      this.db.prepare("DELETE FROM signing_keys WHERE hook_id = ? AND expires_at <= ?").run(hookId, now);
      this.db.prepare("INSERT INTO signing_keys (hook_id, secret_enc, created_at) VALUES (?, ?, ?)").run(hookId, sealSecret(this.key, secret), now);
    })();
  }

  clear(hookId: string): number {
    return this.db.prepare("DELETE FROM signing_keys WHERE hook_id = ?").run(hookId).changes;
  }
}
