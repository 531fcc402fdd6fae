import type pg from "pg";
import { KeyedSerializer } from "../keyed-serializer.js";
import { openSecret, sealSecret } from "../sealed-secret.js";
import { activeSecrets, type SigningKey, type SigningKeysStore } from "../signing-keys-table.js";
import { HeldCopies } from "./held-copies.js";
import { pgQuery } from "./pg-query.js";

interface KeyRow {
  hook_id: string;
  secret_enc: Buffer;
  expires_at: number | null;
}

const NEWEST_FIRST = "ORDER BY hook_id, created_at DESC, id DESC";

/**
 * The hooks' signing keys in PostgreSQL, every hook's held in memory (read at open), so that
 * signing reads no PostgreSQL. A hook with no keys held signs nothing: what another process
 * rotates it announces, and `reload` reads that hook's keys again.
 */
export class PgSigningKeysTable implements SigningKeysStore {
  private readonly held = new HeldCopies<SigningKey[]>();
  private readonly steps = new KeyedSerializer();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly key: Buffer,
    private readonly changed: (hookId: string) => void,
  ) {}

  static async open(pool: pg.Pool, key: Buffer, changed: (hookId: string) => void = () => undefined): Promise<PgSigningKeysTable> {
    const table = new PgSigningKeysTable(pool, key, changed);
    await table.reload();
    return table;
  }

  active(hookId: string, now = Date.now()): string[] {
    return activeSecrets(this.held.get(hookId) ?? [], now);
  }

  async rotate(hookId: string, secret: string, graceMs: number, now = Date.now()): Promise<void> {
    await this.steps.run(hookId, async () => {
      // One statement: the current key given its expiry, the expired ones gone (the current one too
      // when its grace is already over) and the new one stored, together.
      await pgQuery(
        this.pool,
        `WITH expired AS (UPDATE signing_keys SET expires_at = $2::bigint WHERE hook_id = $1 AND expires_at IS NULL AND $2::bigint > $3::bigint),
              gone AS (DELETE FROM signing_keys WHERE hook_id = $1 AND (expires_at <= $3::bigint OR (expires_at IS NULL AND $2::bigint <= $3::bigint)))
         INSERT INTO signing_keys (hook_id, secret_enc, created_at) VALUES ($1, $4, $3)`,
        [hookId, now + graceMs, now, sealSecret(this.key, secret)],
      );
      await this.readHook(hookId);
    });
    this.changed(hookId);
  }

  async clear(hookId: string): Promise<number> {
    const cleared = await this.steps.run(hookId, async () => {
      const { rowCount } = await pgQuery(this.pool, "DELETE FROM signing_keys WHERE hook_id = $1", [hookId]);
      this.held.delete(hookId);
      return rowCount ?? 0;
    });
    if (cleared > 0) this.changed(hookId);
    return cleared;
  }

  async reload(hookId?: string): Promise<void> {
    if (hookId !== undefined) return this.readHook(hookId);
    const readAt = this.held.readStarts();
    const { rows } = await pgQuery<KeyRow>(this.pool, `SELECT hook_id, secret_enc, expires_at FROM signing_keys ${NEWEST_FIRST}`);
    const byHook = groupByHook(this.key, rows);
    for (const id of [...this.held.ids()]) if (!byHook.has(id)) this.held.delete(id, readAt);
    for (const [id, keys] of byHook) this.held.set(id, keys, readAt);
  }

  private async readHook(hookId: string): Promise<void> {
    const readAt = this.held.readStarts();
    const { rows } = await pgQuery<KeyRow>(this.pool, `SELECT hook_id, secret_enc, expires_at FROM signing_keys WHERE hook_id = $1 ${NEWEST_FIRST}`, [hookId]);
    const keys = groupByHook(this.key, rows).get(hookId);
    if (keys) this.held.set(hookId, keys, readAt);
    else this.held.delete(hookId, readAt);
  }
}

function groupByHook(key: Buffer, rows: readonly KeyRow[]): Map<string, SigningKey[]> {
  const byHook = new Map<string, SigningKey[]>();
  for (const row of rows) {
    let keys = byHook.get(row.hook_id);
    if (!keys) byHook.set(row.hook_id, (keys = []));
    keys.push({ secret: openSecret(key, row.secret_enc), expiresAt: row.expires_at });
  }
  return byHook;
}
