import type pg from "pg";
import { KeyedSerializer } from "../keyed-serializer.js";
import type { HookKind } from "../../connections/outbound-hook-registry.js";
import {
  HOOK_COLUMNS, newOutboundHookId, NO_STORED_EPISODE, storedEpisode, toHook,
  type OutboundHookRow, type OutboundHooksStore, type StoredFailureEpisode, type StoredOutboundHook,
} from "../outbound-hooks-table.js";
import { newToken, openSecret, sealSecret } from "../sealed-secret.js";
import { pgQuery } from "./pg-query.js";
import { HeldCopies } from "./held-copies.js";
import { pgText } from "./pg-store.js";

/** A hook as this process holds it: its record, its opened token and its failure episode. */
interface Held {
  hook: StoredOutboundHook;
  token: string;
  episode: StoredFailureEpisode;
}

type FullRow = OutboundHookRow;
const FULL_COLUMNS = `${HOOK_COLUMNS}, token_enc, consecutive_failures, failed_deliveries, failure_notice_at`;
// Rows read per page when every hook is loaded (start, or after the listener was away).
const PAGE = 1000;
// A hook created and removed by others between our insert and our read: tried again this often.
const ENSURE_TRIES = 3;

const nameKey = (roomId: string, kind: HookKind, name: string): string => `${roomId}\n${kind}\n${name}`;

/**
 * The outbound hooks in PostgreSQL, shared by the processes on every host. Every hook is held in
 * memory (read at open, in pages), so delivering and signing read no PostgreSQL; what another
 * process changes it announces, and `reload` reads that hook again. A process that changes a hook's
 * health announces the changes the others act on: a failure episode begun, told, or ended.
 * Steps on one hook that write what is held run one at a time (a read that started before a
 * change never lands after it).
 */
export class PgOutboundHooksTable implements OutboundHooksStore {
  private readonly held = new HeldCopies<Held>();
  private readonly idsByName = new Map<string, string>();
  private readonly suspended = new Set<string>();
  private readonly steps = new KeyedSerializer();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly key: Buffer,
    private readonly changed: (hookId: string) => void,
    private readonly alone: boolean,
  ) {}

  /**
   * Opens the table with every hook read into memory. `alone`: no other process writes it (role
   * all), so a hook held here is as stored and `find` needs no round trip for it.
   */
  static async open(pool: pg.Pool, key: Buffer, changed: (hookId: string) => void = () => undefined, opts: { alone?: boolean } = {}): Promise<PgOutboundHooksTable> {
    const table = new PgOutboundHooksTable(pool, key, changed, opts.alone ?? false);
    await table.loadAll();
    return table;
  }

  /**
   * Read from PostgreSQL each time (another process may have removed the hook, or made it again
   * under a new id); alone, a hook held is taken as it is (a start finds 10,900 hooks this way).
   */
  async find(roomId: string, name: string, kind: HookKind = "hook"): Promise<StoredOutboundHook | null> {
    if (this.alone) {
      const id = this.idsByName.get(nameKey(roomId, kind, name));
      const held = id === undefined ? undefined : this.held.get(id);
      if (held) return held.hook;
    }
    const readAt = this.held.readStarts();
    const { rows } = await pgQuery<FullRow>(this.pool, `SELECT ${FULL_COLUMNS} FROM outbound_hooks WHERE room_id = $1 AND kind = $2 AND name = $3`, [pgText(roomId), kind, pgText(name)]);
    const stale = this.idsByName.get(nameKey(roomId, kind, name));
    if (stale !== undefined && stale !== rows[0]?.id) this.drop(stale, readAt);
    return rows[0] ? this.hold(rows[0], readAt) : null;
  }

  /** Read from PostgreSQL each time: status and pause show what every process did. */
  async byId(id: string): Promise<StoredOutboundHook | null> {
    return this.readById(id);
  }

  async ensure(roomId: string, name: string, createdBy: string, now = Date.now(), kind: HookKind = "hook"): Promise<{ hook: StoredOutboundHook; newToken?: string }> {
    for (let attempt = 0; attempt < ENSURE_TRIES; attempt++) {
      const existing = await this.find(roomId, name, kind);
      if (existing) return { hook: existing };
      const token = newToken();
      const { rows } = await pgQuery<FullRow>(
        this.pool,
        `INSERT INTO outbound_hooks (id, room_id, kind, name, token_enc, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (room_id, kind, name) DO NOTHING RETURNING ${FULL_COLUMNS}`,
        [newOutboundHookId(kind), pgText(roomId), kind, pgText(name), sealSecret(this.key, token), pgText(createdBy), now],
      );
      if (rows[0]) return { hook: this.hold(rows[0]), newToken: token };
      // Another process created it just now: the next find reads its row.
    }
    throw new Error(`the outbound hook "${name}" of ${roomId} could be neither created nor found`);
  }

  token(hookId: string): string | null {
    return this.held.get(hookId)?.token ?? null;
  }

  async refreshToken(hookId: string): Promise<string> {
    const token = newToken();
    await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(this.pool, `UPDATE outbound_hooks SET token_enc = $1 WHERE id = $2 RETURNING ${FULL_COLUMNS}`, [sealSecret(this.key, token), hookId]);
      if (!rows[0]) throw new Error(`No outbound hook with id ${hookId}`);
      this.hold(rows[0]);
    });
    this.changed(hookId);
    return token;
  }

  async remove(hookId: string): Promise<void> {
    await this.steps.run(hookId, async () => {
      await pgQuery(this.pool, "DELETE FROM outbound_hooks WHERE id = $1", [hookId]);
      this.drop(hookId);
    });
    this.changed(hookId);
  }

  async reload(hookId?: string): Promise<void> {
    if (hookId === undefined) return this.loadAll();
    await this.readById(hookId);
  }

  async suspend(hookId: string, reason: string, now = Date.now()): Promise<boolean> {
    const changed = await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(this.pool, `UPDATE outbound_hooks SET suspended_at = $1, suspended_reason = $2 WHERE id = $3 AND suspended_at IS NULL RETURNING ${FULL_COLUMNS}`, [now, pgText(reason), hookId]);
      if (rows[0]) this.hold(rows[0]);
      return rows.length === 1;
    });
    if (changed) this.changed(hookId);
    return changed;
  }

  suspendedIds(): ReadonlySet<string> {
    return this.suspended;
  }

  async resume(hookId: string): Promise<boolean> {
    const changed = await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(
        this.pool,
        `UPDATE outbound_hooks SET suspended_at = NULL, suspended_reason = NULL, failing_since = NULL WHERE id = $1 AND suspended_at IS NOT NULL RETURNING ${FULL_COLUMNS}`,
        [hookId],
      );
      if (rows[0]) this.hold(rows[0]);
      return rows.length === 1;
    });
    if (changed) this.changed(hookId);
    return changed;
  }

  /** Writes only at an episode's first failure, in one statement: two workers failing at once agree on it. */
  async markFailing(hookId: string, now = Date.now()): Promise<number> {
    const known = this.held.get(hookId)?.hook.failingSince;
    if (known !== undefined && known !== null) return known;
    const since = await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(this.pool, `UPDATE outbound_hooks SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 RETURNING ${FULL_COLUMNS}`, [now, hookId]);
      if (!rows[0]) return now;
      return this.hold(rows[0]).failingSince ?? now;
    });
    // The others learn that it fails, so that a success through any of them ends it.
    if (since === now) this.changed(hookId);
    return since;
  }

  /** Writes only while this process knows the hook fails (its own failures, or another's, announced). */
  async markHealthy(hookId: string): Promise<number | null> {
    if ((this.held.get(hookId)?.hook.failingSince ?? null) === null) return null;
    const since = await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow & { was: number }>(
        this.pool,
        `WITH old AS (SELECT id, failing_since FROM outbound_hooks WHERE id = $1 AND failing_since IS NOT NULL FOR UPDATE)
         UPDATE outbound_hooks h SET failing_since = NULL FROM old WHERE h.id = old.id
         RETURNING old.failing_since AS was, ${FULL_COLUMNS.split(", ").map((c) => `h.${c}`).join(", ")}`,
        [hookId],
      );
      if (!rows[0]) {
        // Another process ended it first: what it wrote is read.
        await this.readById(hookId);
        return null;
      }
      this.hold(rows[0]);
      return rows[0].was;
    });
    if (since !== null) this.changed(hookId);
    return since;
  }

  async failureEpisode(hookId: string): Promise<StoredFailureEpisode> {
    return this.held.get(hookId)?.episode ?? NO_STORED_EPISODE;
  }

  /** The counts only, and only while PostgreSQL says what this process believes about the notice (another may have ended the episode). */
  async saveFailureEpisode(hookId: string, episode: StoredFailureEpisode): Promise<void> {
    await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(
        this.pool,
        `UPDATE outbound_hooks SET consecutive_failures = $1, failed_deliveries = $2 WHERE id = $3 AND failure_notice_at IS NOT DISTINCT FROM $4 RETURNING ${FULL_COLUMNS}`,
        [episode.failedAttempts, episode.failedDeliveries, hookId, episode.noticedAt],
      );
      if (rows[0]) this.hold(rows[0]);
      else await this.readById(hookId);
    });
  }

  /** Memory only: a reload meanwhile puts back the counts last written (at most a second's worth lost). */
  cacheFailureEpisode(hookId: string, episode: StoredFailureEpisode): void {
    const held = this.held.get(hookId);
    if (held) held.episode = episode;
  }

  /** The first process to mark the episode told; the others read it again. */
  async claimFailureNotice(hookId: string, now: number): Promise<boolean> {
    const claimed = await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(this.pool, `UPDATE outbound_hooks SET failure_notice_at = $1 WHERE id = $2 AND failure_notice_at IS NULL RETURNING ${FULL_COLUMNS}`, [now, hookId]);
      if (rows[0]) {
        this.holdKeepingCounts(rows[0]);
        return true;
      }
      await this.readById(hookId);
      return false;
    });
    if (claimed) this.changed(hookId);
    return claimed;
  }

  async releaseFailureNotice(hookId: string, at: number): Promise<void> {
    await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(this.pool, `UPDATE outbound_hooks SET failure_notice_at = NULL WHERE id = $1 AND failure_notice_at = $2 RETURNING ${FULL_COLUMNS}`, [hookId, at]);
      if (rows[0]) this.holdKeepingCounts(rows[0]);
    });
  }

  /** Ended by one process only (the first to clear it), so that a recovery is told once. */
  async endFailureEpisode(hookId: string): Promise<StoredFailureEpisode | null> {
    const episode = this.held.get(hookId)?.episode ?? NO_STORED_EPISODE;
    if (episode.failedAttempts === 0 && episode.noticedAt === null) return null;
    const ended = await this.steps.run(hookId, async () => {
      const { rows } = await pgQuery<FullRow>(
        this.pool,
        `UPDATE outbound_hooks SET consecutive_failures = 0, failed_deliveries = 0, failure_notice_at = NULL
         WHERE id = $1 AND failure_notice_at IS NOT DISTINCT FROM $2 AND (consecutive_failures > 0 OR failure_notice_at IS NOT NULL) RETURNING ${FULL_COLUMNS}`,
        [hookId, episode.noticedAt],
      );
      if (rows[0]) this.hold(rows[0]);
      else await this.readById(hookId);
      return rows.length === 1;
    });
    if (!ended) return null;
    // The others drop their counts of the episode (and, if it was told, their "told").
    this.changed(hookId);
    return episode;
  }

  private async loadAll(): Promise<void> {
    const seen = new Set<string>();
    const startedAt = this.held.readStarts();
    let after = "";
    for (;;) {
      const readAt = this.held.readStarts();
      const { rows } = await pgQuery<FullRow>(this.pool, `SELECT ${FULL_COLUMNS} FROM outbound_hooks WHERE id > $1 ORDER BY id COLLATE "C" LIMIT $2`, [after, PAGE]);
      for (const row of rows) {
        this.hold(row, readAt);
        seen.add(row.id);
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
    for (const id of [...this.held.ids()]) if (!seen.has(id)) this.drop(id, startedAt);
  }

  private async readById(hookId: string): Promise<StoredOutboundHook | null> {
    const readAt = this.held.readStarts();
    const { rows } = await pgQuery<FullRow>(this.pool, `SELECT ${FULL_COLUMNS} FROM outbound_hooks WHERE id = $1`, [hookId]);
    if (!rows[0]) {
      this.drop(hookId, readAt);
      return null;
    }
    return this.hold(rows[0], readAt);
  }

  /** Holds the row unless it was read (at `readAt`) before the copy last changed. Writes run one at a time per hook and hold what their statement returned. */
  private hold(row: FullRow, readAt?: number): StoredOutboundHook {
    const previous = this.held.get(row.id);
    const held: Held = { hook: toHook(row), token: openSecret(this.key, row.token_enc), episode: storedEpisode(row) };
    if (!this.held.set(row.id, held, readAt)) return previous?.hook ?? held.hook;
    if (previous) this.idsByName.delete(nameKey(previous.hook.roomId, previous.hook.kind, previous.hook.name));
    this.idsByName.set(nameKey(held.hook.roomId, held.hook.kind, held.hook.name), row.id);
    if (held.hook.suspendedAt !== null) this.suspended.add(row.id);
    else this.suspended.delete(row.id);
    return held.hook;
  }

  /** The counts this process holds may be ahead of what was written (saveFailureEpisode writes at most once a second): they stay. */
  private holdKeepingCounts(row: FullRow): void {
    const counts = this.held.get(row.id)?.episode;
    this.hold(row);
    const held = this.held.get(row.id)!;
    if (counts) held.episode = { ...held.episode, failedAttempts: counts.failedAttempts, failedDeliveries: counts.failedDeliveries };
  }

  private drop(hookId: string, readAt?: number): void {
    const held = this.held.get(hookId);
    if (!this.held.delete(hookId, readAt)) return;
    if (held) this.idsByName.delete(nameKey(held.hook.roomId, held.hook.kind, held.hook.name));
    this.suspended.delete(hookId);
  }
}
