import type { TlsPart, TlsParts } from "../delivery/tls-material.js";
import type { Db } from "./database.js";
import { openSecret, sealSecret } from "./sealed-secret.js";

/**
 * A hook's TLS material uploaded by command (CA bundle, client certificate, key), sealed at rest,
 * on either engine. Every delivery asks for it, from memory (`parts`); `reload` reads again what
 * another process changed.
 */
export interface HookTlsStore {
  /** The hook's uploaded parts (null where none); a passphrase is never uploaded (keys are stored opened). */
  parts(hookId: string): TlsParts;
  set(hookId: string, part: TlsPart, pem: string, by: string, now?: number): Promise<void>;
  /** Forgets every uploaded part; returns how many there were. */
  clear(hookId: string): Promise<number>;
  /** A removed hook's rows went with it (ON DELETE CASCADE): its copy goes too. */
  forget(hookId: string): void;
  /** Another process changed the hook's parts (or any hook's, without an id): read them again. */
  reload(hookId?: string): Promise<void>;
}

export const NO_TLS_PARTS: TlsParts = Object.freeze({ ca: null, cert: null, key: null, passphrase: null });

/** The parts of a hook's rows, opened; a row of an unknown part is left out. */
export function openTlsParts(key: Buffer, rows: Iterable<{ part: string; pem_enc: Buffer }>): TlsParts {
  const parts: TlsParts = { ...NO_TLS_PARTS };
  for (const row of rows) {
    if (row.part === "ca" || row.part === "cert" || row.part === "key") parts[row.part] = openSecret(key, row.pem_enc);
  }
  return parts;
}

/** The SQLite engine's TLS material; opened parts are cached in memory. */
export class HookTlsTable implements HookTlsStore {
  private readonly cache = new Map<string, TlsParts>();
  private readonly q;

  constructor(
    db: Db,
    private readonly key: Buffer,
  ) {
    this.q = {
      all: db.prepare<[string], { part: string; pem_enc: Buffer }>("SELECT part, pem_enc FROM hook_tls WHERE hook_id = ?"),
      set: db.prepare("INSERT INTO hook_tls (hook_id, part, pem_enc, set_by, set_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hook_id, part) DO UPDATE SET pem_enc = excluded.pem_enc, set_by = excluded.set_by, set_at = excluded.set_at"),
      clear: db.prepare("DELETE FROM hook_tls WHERE hook_id = ?"),
    };
  }

  parts(hookId: string): TlsParts {
    let parts = this.cache.get(hookId);
    if (!parts) {
      parts = openTlsParts(this.key, this.q.all.all(hookId));
      this.cache.set(hookId, parts);
    }
    return parts;
  }

  async set(hookId: string, part: TlsPart, pem: string, by: string, now = Date.now()): Promise<void> {
    this.q.set.run(hookId, part, sealSecret(this.key, pem), by, now);
    this.cache.delete(hookId);
  }

  async clear(hookId: string): Promise<number> {
    this.cache.delete(hookId);
    return this.q.clear.run(hookId).changes;
  }

  forget(hookId: string): void {
    this.cache.delete(hookId);
  }

  async reload(hookId?: string): Promise<void> {
    if (hookId === undefined) this.cache.clear();
    else this.cache.delete(hookId);
  }
}
