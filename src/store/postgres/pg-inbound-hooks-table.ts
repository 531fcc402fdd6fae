import type pg from "pg";
import { GithubSecretCache } from "../github-secret-cache.js";
import { hashInboundSecret, newInboundSecret } from "../inbound-hook-secret.js";
import { INBOUND_HOOK_COLUMNS, newInboundHookId, toHook, type InboundHookRow, type InboundHooksStore, type StoredInboundHook } from "../inbound-hooks-table.js";
import { sealSecret } from "../sealed-secret.js";
import { StoreUnavailableError } from "../store-unavailable.js";
import { pgQuery, UNIQUE_VIOLATION } from "./pg-query.js";
import { pgText } from "./pg-store.js";

// A hook created and removed by others between our insert and our read: tried again this often.
const ENSURE_TRIES = 3;

// Room ids, names and user ids come from Matrix events: pgText keeps a U+0000 in one from failing the statement.

/**
 * The inbound hooks in PostgreSQL, shared by the processes on every host. Creating and renaming
 * rely on the table's UNIQUE (room_id, name): two processes creating the same hook at once end with
 * one row, and only the one whose insert made it holds the URL secret.
 */
export class PgInboundHooksTable implements InboundHooksStore {
  private readonly githubSecrets = new GithubSecretCache();

  constructor(
    private readonly pool: pg.Pool,
    private readonly key: Buffer,
    /** Told after a hook's GitHub secret changed (other processes drop their copy). */
    private readonly changed: (hookId: string) => void = () => undefined,
  ) {}

  async find(roomId: string, name: string): Promise<StoredInboundHook | null> {
    return this.one(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE room_id = $1 AND name = $2`, [pgText(roomId), pgText(name)]);
  }

  async byId(id: string): Promise<StoredInboundHook | null> {
    return this.one(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE id = $1`, [id]);
  }

  async bySecret(secret: string): Promise<StoredInboundHook | null> {
    return this.one(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE secret_hash = $1`, [hashInboundSecret(this.key, secret)]);
  }

  async forRoom(roomId: string): Promise<StoredInboundHook[]> {
    // COLLATE "C": the byte order SQLite's ORDER BY gives, whatever the database's collation.
    const { rows } = await pgQuery<InboundHookRow>(this.pool, `SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE room_id = $1 ORDER BY name COLLATE "C"`, [pgText(roomId)]);
    return rows.map(toHook);
  }

  async ensure(roomId: string, name: string, createdBy: string, now = Date.now()): Promise<{ hook: StoredInboundHook; newSecret?: string }> {
    for (let attempt = 0; attempt < ENSURE_TRIES; attempt++) {
      const existing = await this.find(roomId, name);
      if (existing) return { hook: existing };
      const secret = newInboundSecret();
      const { rows } = await pgQuery<InboundHookRow>(
        this.pool,
        `INSERT INTO inbound_hooks (id, room_id, name, secret_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (room_id, name) DO NOTHING RETURNING ${INBOUND_HOOK_COLUMNS}`,
        [newInboundHookId(), pgText(roomId), pgText(name), hashInboundSecret(this.key, secret), pgText(createdBy), now],
      );
      if (rows[0]) return { hook: toHook(rows[0]), newSecret: secret };
      // Another process created it just now: the next find reads its row.
    }
    throw new Error(`the inbound hook "${name}" of ${roomId} could be neither created nor found`);
  }

  async rotate(id: string): Promise<string> {
    const secret = newInboundSecret();
    const changed = await pgQuery(this.pool, "UPDATE inbound_hooks SET secret_hash = $1 WHERE id = $2", [hashInboundSecret(this.key, secret), id]);
    if (changed.rowCount !== 1) throw new Error(`No inbound hook with id ${id}`);
    return secret;
  }

  async rename(id: string, name: string): Promise<boolean> {
    const hook = await this.byId(id);
    if (!hook) throw new Error(`No inbound hook with id ${id}`);
    if (await this.find(hook.roomId, name)) return false;
    try {
      await pgQuery(this.pool, "UPDATE inbound_hooks SET name = $1 WHERE id = $2", [pgText(name), id]);
    } catch (err) {
      // Another process took the name between the look and the update.
      if (err instanceof StoreUnavailableError && err.code === UNIQUE_VIOLATION) return false;
      throw err;
    }
    return true;
  }

  async remove(id: string): Promise<void> {
    await pgQuery(this.pool, "DELETE FROM inbound_hooks WHERE id = $1", [id]);
    this.githubSecrets.forget(id);
  }

  async githubSecret(id: string): Promise<string | null> {
    return this.githubSecrets.read(id, this.key, async () =>
      (await pgQuery<Pick<InboundHookRow, "github_secret_enc">>(this.pool, "SELECT github_secret_enc FROM inbound_hooks WHERE id = $1", [id])).rows[0]?.github_secret_enc ?? null);
  }

  async setGithubSecret(id: string, secret: string | null): Promise<void> {
    await pgQuery(this.pool, "UPDATE inbound_hooks SET github_secret_enc = $1 WHERE id = $2", [secret === null ? null : sealSecret(this.key, secret), id]);
    this.githubSecrets.set(id, secret);
    this.changed(id);
  }

  forgetCached(id: string): void {
    this.githubSecrets.forget(id);
  }

  forgetAllCached(): void {
    this.githubSecrets.clear();
  }

  private async one(text: string, values: unknown[]): Promise<StoredInboundHook | null> {
    const { rows } = await pgQuery<InboundHookRow>(this.pool, text, values);
    return rows[0] ? toHook(rows[0]) : null;
  }
}
