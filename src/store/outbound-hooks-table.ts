import { randomBytes } from "node:crypto";
import type { HookKind } from "../connections/outbound-hook-registry.js";
import type { Db } from "./database.js";
import { newToken, openSecret, sealSecret } from "./sealed-secret.js";

/** An outbound hook's identity and secret as kept in the store (the URL lives in room state). */
export interface StoredOutboundHook {
  id: string;
  roomId: string;
  kind: HookKind;
  name: string;
  createdBy: string;
  createdAt: number;
  /** Set while the hook is paused (by a command) or disabled (by the bridge after failures). */
  suspendedAt: number | null;
  suspendedReason: string | null;
  failingSince: number | null;
}

/** Failed attempts since the hook's last success, and when its room was told (null: not told). */
export interface StoredFailureEpisode {
  failedAttempts: number;
  failedDeliveries: number;
  noticedAt: number | null;
}

/** Bots' store ids start with this (their ghost users are named after the id); hooks' with ep_. */
export const BOT_ID_PREFIX = "bt_";

interface Row {
  id: string;
  room_id: string;
  kind: HookKind;
  name: string;
  created_by: string;
  created_at: number;
  token_enc: Buffer;
  suspended_at: number | null;
  suspended_reason: string | null;
  failing_since: number | null;
  consecutive_failures: number;
  failed_deliveries: number;
  failure_notice_at: number | null;
}

/** What a StoredOutboundHook is read from (not the sealed token: a BLOB column costs a Buffer per row read). */
type HookRow = Pick<Row, "id" | "room_id" | "kind" | "name" | "created_by" | "created_at" | "suspended_at" | "suspended_reason" | "failing_since">;
const HOOK_COLUMNS = "id, room_id, kind, name, created_by, created_at, suspended_at, suspended_reason, failing_since";

const toHook = (r: HookRow): StoredOutboundHook => ({
  id: r.id,
  roomId: r.room_id,
  kind: r.kind,
  name: r.name,
  createdBy: r.created_by,
  createdAt: r.created_at,
  suspendedAt: r.suspended_at,
  suspendedReason: r.suspended_reason,
  failingSince: r.failing_since,
});

const NO_STORED_EPISODE: StoredFailureEpisode = Object.freeze({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });

function storedEpisode(row: Pick<Row, "consecutive_failures" | "failed_deliveries" | "failure_notice_at">): StoredFailureEpisode {
  return { failedAttempts: row.consecutive_failures, failedDeliveries: row.failed_deliveries, noticedAt: row.failure_notice_at };
}

/**
 * Hook ids, tokens (sealed with the configured key) and delivery state. Tokens, suspensions and
 * failure state are also kept in memory: the delivery hot path reads them without touching
 * SQLite. Where several processes share the file, each says what it changed (`changed`) and drops
 * what another changed (`forgetCached`).
 */
export class OutboundHooksTable {
  private readonly tokens = new Map<string, string>();
  private readonly suspended: Set<string>;
  /** hook id → failing since (ms), or null when its last attempt succeeded. */
  private readonly failing = new Map<string, number | null>();
  private readonly episodes = new Map<string, StoredFailureEpisode>();
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    /** Told after a hook's token or suspension changed or it was removed (other processes drop their copy). */
    private readonly changed: (hookId: string) => void = () => undefined,
    /** Other processes deliver for the same hooks (bridge.role): since when a hook fails is read from the file each time. */
    private readonly shared = false,
  ) {
    this.q = {
      healthOf: db.prepare<[string], Pick<Row, "failing_since" | "consecutive_failures" | "failed_deliveries" | "failure_notice_at">>(
        "SELECT failing_since, consecutive_failures, failed_deliveries, failure_notice_at FROM outbound_hooks WHERE id = ?",
      ),
      startFailing: db.prepare<[number, string], { failing_since: number }>("UPDATE outbound_hooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ? RETURNING failing_since"),
      stopFailing: db.prepare("UPDATE outbound_hooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL"),
      suspendedOne: db.prepare<[string], { suspended: number }>("SELECT suspended_at IS NOT NULL AS suspended FROM outbound_hooks WHERE id = ?"),
      find: db.prepare<[string, HookKind, string], HookRow>(`SELECT ${HOOK_COLUMNS} FROM outbound_hooks WHERE room_id = ? AND kind = ? AND name = ?`),
      byId: db.prepare<[string], HookRow>(`SELECT ${HOOK_COLUMNS} FROM outbound_hooks WHERE id = ?`),
      insert: db.prepare("INSERT INTO outbound_hooks (id, room_id, kind, name, token_enc, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      token: db.prepare<[string], Pick<Row, "token_enc">>("SELECT token_enc FROM outbound_hooks WHERE id = ?"),
      setToken: db.prepare("UPDATE outbound_hooks SET token_enc = ? WHERE id = ?"),
      remove: db.prepare("DELETE FROM outbound_hooks WHERE id = ?"),
      suspend: db.prepare("UPDATE outbound_hooks SET suspended_at = ?, suspended_reason = ? WHERE id = ? AND suspended_at IS NULL"),
      resume: db.prepare("UPDATE outbound_hooks SET suspended_at = NULL, suspended_reason = NULL, failing_since = NULL WHERE id = ? AND suspended_at IS NOT NULL"),
      failing: db.prepare("UPDATE outbound_hooks SET failing_since = ? WHERE id = ?"),
      episode: db.prepare<[string], Pick<Row, "consecutive_failures" | "failed_deliveries" | "failure_notice_at">>(
        "SELECT consecutive_failures, failed_deliveries, failure_notice_at FROM outbound_hooks WHERE id = ?",
      ),
      saveEpisode: db.prepare("UPDATE outbound_hooks SET consecutive_failures = ?, failed_deliveries = ?, failure_notice_at = ? WHERE id = ?"),
      // Only while the file says what this process believes about the notice: counts of an
      // episode another process ended (and announced) are not written back over its reset.
      saveCounts: db.prepare("UPDATE outbound_hooks SET consecutive_failures = ?, failed_deliveries = ? WHERE id = ? AND failure_notice_at IS ?"),
      claimNotice: db.prepare("UPDATE outbound_hooks SET failure_notice_at = ? WHERE id = ? AND failure_notice_at IS NULL"),
      releaseNotice: db.prepare("UPDATE outbound_hooks SET failure_notice_at = NULL WHERE id = ? AND failure_notice_at = ?"),
      endEpisode: db.prepare(
        "UPDATE outbound_hooks SET consecutive_failures = 0, failed_deliveries = 0, failure_notice_at = NULL WHERE id = ? AND failure_notice_at IS ? AND (consecutive_failures > 0 OR failure_notice_at IS NOT NULL)",
      ),
    };
    const rows = db.prepare<[], { id: string }>("SELECT id FROM outbound_hooks WHERE suspended_at IS NOT NULL").all();
    this.suspended = new Set(rows.map((r) => r.id));
  }

  find(roomId: string, name: string, kind: HookKind = "hook"): StoredOutboundHook | null {
    const row = this.q.find.get(roomId, kind, name);
    return row ? toHook(row) : null;
  }

  byId(id: string): StoredOutboundHook | null {
    const row = this.q.byId.get(id);
    return row ? toHook(row) : null;
  }

  /**
   * Creates the hook's id and token unless they exist; the token is returned only when new. A bot's
   * id starts with bt_ (its ghost user is named after it), a hook's with ep_.
   */
  ensure(roomId: string, name: string, createdBy: string, now = Date.now(), kind: HookKind = "hook"): { hook: StoredOutboundHook; newToken?: string } {
    const existing = this.find(roomId, name, kind);
    if (existing) return { hook: existing };
    const token = newToken();
    const hook: StoredOutboundHook = {
      id: `${kind === "bot" ? BOT_ID_PREFIX : "ep_"}${randomBytes(12).toString("hex")}`, roomId, kind, name, createdBy, createdAt: now, suspendedAt: null, suspendedReason: null, failingSince: null,
    };
    this.q.insert.run(hook.id, roomId, kind, name, sealSecret(this.key, token), createdBy, now);
    return { hook, newToken: token };
  }

  token(hookId: string): string | null {
    const cached = this.tokens.get(hookId);
    if (cached !== undefined) return cached;
    const row = this.q.token.get(hookId);
    if (!row) return null;
    const token = openSecret(this.key, row.token_enc);
    this.tokens.set(hookId, token);
    return token;
  }

  /** Replaces the token; from now on only the new one is sent. */
  refreshToken(hookId: string): string {
    const token = newToken();
    if (this.q.setToken.run(sealSecret(this.key, token), hookId).changes !== 1) throw new Error(`No outbound hook with id ${hookId}`);
    this.tokens.set(hookId, token);
    this.changed(hookId);
    return token;
  }

  remove(hookId: string): void {
    this.q.remove.run(hookId);
    this.dropCached(hookId);
    this.changed(hookId);
  }

  /** Another process changed the hook: what is held in memory is read from the store again. */
  forgetCached(hookId: string): void {
    this.dropCached(hookId);
    if (this.q.suspendedOne.get(hookId)?.suspended) this.suspended.add(hookId);
  }

  private dropCached(hookId: string): void {
    this.tokens.delete(hookId);
    this.suspended.delete(hookId);
    this.failing.delete(hookId);
    this.episodes.delete(hookId);
  }

  /** Stops deliveries to the hook until resumed; the first reason wins. */
  suspend(hookId: string, reason: string, now = Date.now()): boolean {
    const changed = this.q.suspend.run(now, reason, hookId).changes === 1;
    if (changed) {
      this.suspended.add(hookId);
      this.changed(hookId);
    }
    return changed;
  }

  suspendedIds(): ReadonlySet<string> {
    return this.suspended;
  }

  resume(hookId: string): boolean {
    const changed = this.q.resume.run(hookId).changes === 1;
    if (changed) {
      this.suspended.delete(hookId);
      this.failing.set(hookId, null);
      this.changed(hookId);
    }
    return changed;
  }

  /** Records a failed attempt; returns since when the hook has been failing without a success. */
  markFailing(hookId: string, now = Date.now()): number {
    // Shared: one statement, so that two workers failing at once agree on the first failure.
    if (this.shared) return this.q.startFailing.get(now, hookId)?.failing_since ?? now;
    const since = this.failingSince(hookId);
    if (since !== null) return since;
    this.q.failing.run(now, hookId);
    this.failing.set(hookId, now);
    return now;
  }

  /**
   * Records a success; writes only when the hook was failing. Returns since when it had been failing.
   * Shared: one read of the file on each success, which also refreshes the cached failure episode
   * for endFailureEpisode, called right after (no write unless failing; of two workers clearing at
   * once, one reports it).
   */
  markHealthy(hookId: string): number | null {
    if (this.shared) {
      const row = this.q.healthOf.get(hookId);
      if (!row) return null;
      this.episodes.set(hookId, storedEpisode(row));
      const since = row.failing_since;
      return since !== null && this.q.stopFailing.run(hookId).changes === 1 ? since : null;
    }
    const since = this.failingSince(hookId);
    if (since === null) return null;
    this.q.failing.run(null, hookId);
    this.failing.set(hookId, null);
    return since;
  }

  /** The hook's failure episode (failed attempts since its last success, whether the room was told). */
  failureEpisode(hookId: string): StoredFailureEpisode {
    let episode = this.episodes.get(hookId);
    if (episode === undefined) {
      const row = this.q.episode.get(hookId);
      episode = row ? storedEpisode(row) : NO_STORED_EPISODE;
      this.episodes.set(hookId, episode);
    }
    return episode;
  }

  /** Shared: the counts only; whether the room was told is written by claimFailureNotice and endFailureEpisode. */
  saveFailureEpisode(hookId: string, episode: StoredFailureEpisode): void {
    if (this.shared) this.q.saveCounts.run(episode.failedAttempts, episode.failedDeliveries, hookId, episode.noticedAt);
    else this.q.saveEpisode.run(episode.failedAttempts, episode.failedDeliveries, episode.noticedAt, hookId);
    this.episodes.set(hookId, episode);
  }

  /**
   * Whether this process is the one to tell the room that the hook is failing. Alone: always. Shared:
   * the first process to mark the episode told in the file, so that two workers whose attempts both
   * crossed the threshold send one notice; the others read the episode again.
   */
  claimFailureNotice(hookId: string, now: number): boolean {
    if (!this.shared) return true;
    const claimed = this.q.claimNotice.run(now, hookId).changes === 1;
    this.episodes.delete(hookId);
    if (claimed) this.changed(hookId);
    return claimed;
  }

  /** The notice claimed at `at` was not sent after all (the notifier held it back): the episode counts as untold again. */
  releaseFailureNotice(hookId: string, at: number): void {
    if (this.shared) this.q.releaseNotice.run(hookId, at);
  }

  /**
   * After a success: the failure episode that ended, for its recovery notice, or null when there was
   * none. Shared: read from the file, and ended by one process only (the first to clear it), so
   * that a recovery is told once.
   */
  endFailureEpisode(hookId: string): StoredFailureEpisode | null {
    // Shared: as markHealthy just read it from the file.
    const episode = this.failureEpisode(hookId);
    if (episode.failedAttempts === 0 && episode.noticedAt === null) return null;
    if (!this.shared) {
      this.saveFailureEpisode(hookId, NO_STORED_EPISODE);
      return episode;
    }
    const ended = this.q.endEpisode.run(hookId, episode.noticedAt).changes === 1;
    this.episodes.set(hookId, NO_STORED_EPISODE);
    if (!ended) return null;
    // The others drop their counts of the episode (and, if it was told, their "told").
    this.changed(hookId);
    return episode;
  }

  /** Updates the episode in memory only (the caller writes it later, or accepts losing it at a restart). */
  cacheFailureEpisode(hookId: string, episode: StoredFailureEpisode): void {
    this.episodes.set(hookId, episode);
  }

  private failingSince(hookId: string): number | null {
    if (!this.failing.has(hookId)) this.failing.set(hookId, this.byId(hookId)?.failingSince ?? null);
    return this.failing.get(hookId)!;
  }
}
