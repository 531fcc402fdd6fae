import type { TlsPart, TlsParts } from "../delivery/tls-material.js";
import type { Db } from "./database.js";
import { openSecret, sealSecret } from "./sealed-secret.js";

/**
 * A hook's TLS material uploaded by command (CA bundle, client certificate, key), sealed at rest.
 * Opened parts are cached in memory: every delivery asks for them. A change made by another process
 * sharing the file drops the copy (`forget`).
 */
export class HookTlsTable {
  private readonly cache = new Map<string, TlsParts>();
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    /** Told after a hook's parts changed (other processes drop their copy). */
    private readonly changed: (hookId: string) => void = () => undefined,
  ) {
    this.q = {
      all: db.prepare<[string], { part: string; pem_enc: Buffer }>("SELECT part, pem_enc FROM hook_tls WHERE hook_id = ?"),
      set: db.prepare("INSERT INTO hook_tls (hook_id, part, pem_enc, set_by, set_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hook_id, part) DO UPDATE SET pem_enc = excluded.pem_enc, set_by = excluded.set_by, set_at = excluded.set_at"),
      clear: db.prepare("DELETE FROM hook_tls WHERE hook_id = ?"),
    };
  }

  /** The hook's uploaded parts (null where none); a passphrase is never uploaded (keys are stored opened). */
  parts(hookId: string): TlsParts {
    let parts = this.cache.get(hookId);
    if (!parts) {
      parts = { ca: null, cert: null, key: null, passphrase: null };
      for (const row of this.q.all.all(hookId)) {
        if (row.part === "ca" || row.part === "cert" || row.part === "key") parts[row.part] = openSecret(this.key, row.pem_enc);
      }
      this.cache.set(hookId, parts);
    }
    return parts;
  }

  set(hookId: string, part: TlsPart, pem: string, by: string, now = Date.now()): void {
    this.q.set.run(hookId, part, sealSecret(this.key, pem), by, now);
    this.cache.delete(hookId);
    this.changed(hookId);
  }

  /** Forgets every uploaded part; returns how many there were. */
  clear(hookId: string): number {
    this.cache.delete(hookId);
    const cleared = this.q.clear.run(hookId).changes;
    if (cleared > 0) this.changed(hookId);
    return cleared;
  }

  /** A removed hook's rows go with it (ON DELETE CASCADE), or another process changed them: its cache entry goes here. */
  forget(hookId: string): void {
    this.cache.delete(hookId);
  }
}
