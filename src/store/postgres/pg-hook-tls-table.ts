import type pg from "pg";
import { KeyedSerializer } from "../keyed-serializer.js";
import type { TlsPart, TlsParts } from "../../delivery/tls-material.js";
import { NO_TLS_PARTS, openTlsParts, type HookTlsStore } from "../hook-tls-table.js";
import { sealSecret } from "../sealed-secret.js";
import { HeldCopies } from "./held-copies.js";
import { pgQuery } from "./pg-query.js";
import { pgText } from "./pg-store.js";

interface PartRow {
  hook_id: string;
  part: string;
  pem_enc: Buffer;
}

/**
 * The hooks' uploaded TLS material in PostgreSQL, every hook's held in memory (read at open): each
 * delivery asks for it. What another process uploads it announces, and `reload` reads it again.
 */
export class PgHookTlsTable implements HookTlsStore {
  private readonly held = new HeldCopies<TlsParts>();
  private readonly steps = new KeyedSerializer();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly key: Buffer,
    private readonly changed: (hookId: string) => void,
  ) {}

  static async open(pool: pg.Pool, key: Buffer, changed: (hookId: string) => void = () => undefined): Promise<PgHookTlsTable> {
    const table = new PgHookTlsTable(pool, key, changed);
    await table.reload();
    return table;
  }

  parts(hookId: string): TlsParts {
    return this.held.get(hookId) ?? NO_TLS_PARTS;
  }

  async set(hookId: string, part: TlsPart, pem: string, by: string, now = Date.now()): Promise<void> {
    await this.steps.run(hookId, async () => {
      await pgQuery(
        this.pool,
        `INSERT INTO hook_tls (hook_id, part, pem_enc, set_by, set_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (hook_id, part) DO UPDATE SET pem_enc = excluded.pem_enc, set_by = excluded.set_by, set_at = excluded.set_at`,
        [hookId, part, sealSecret(this.key, pem), pgText(by), now],
      );
      await this.readHook(hookId);
    });
    this.changed(hookId);
  }

  async clear(hookId: string): Promise<number> {
    const cleared = await this.steps.run(hookId, async () => {
      const { rowCount } = await pgQuery(this.pool, "DELETE FROM hook_tls WHERE hook_id = $1", [hookId]);
      this.held.delete(hookId);
      return rowCount ?? 0;
    });
    if (cleared > 0) this.changed(hookId);
    return cleared;
  }

  forget(hookId: string): void {
    this.held.delete(hookId);
  }

  async reload(hookId?: string): Promise<void> {
    if (hookId !== undefined) return this.readHook(hookId);
    const readAt = this.held.readStarts();
    const { rows } = await pgQuery<PartRow>(this.pool, "SELECT hook_id, part, pem_enc FROM hook_tls");
    const byHook = new Map<string, PartRow[]>();
    for (const row of rows) byHook.set(row.hook_id, [...(byHook.get(row.hook_id) ?? []), row]);
    for (const id of [...this.held.ids()]) if (!byHook.has(id)) this.held.delete(id, readAt);
    for (const [id, parts] of byHook) this.held.set(id, openTlsParts(this.key, parts), readAt);
  }

  private async readHook(hookId: string): Promise<void> {
    const readAt = this.held.readStarts();
    const { rows } = await pgQuery<PartRow>(this.pool, "SELECT hook_id, part, pem_enc FROM hook_tls WHERE hook_id = $1", [hookId]);
    if (rows.length > 0) this.held.set(hookId, openTlsParts(this.key, rows), readAt);
    else this.held.delete(hookId, readAt);
  }
}
