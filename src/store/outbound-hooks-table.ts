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

export interface OutboundHookRow {
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
export type HookRow = Pick<OutboundHookRow, "id" | "room_id" | "kind" | "name" | "created_by" | "created_at" | "suspended_at" | "suspended_reason" | "failing_since">;
export const HOOK_COLUMNS = "id, room_id, kind, name, created_by, created_at, suspended_at, suspended_reason, failing_since";

export const toHook = (r: HookRow): StoredOutboundHook => ({
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

export const NO_STORED_EPISODE: StoredFailureEpisode = Object.freeze({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });

export function storedEpisode(row: Pick<OutboundHookRow, "consecutive_failures" | "failed_deliveries" | "failure_notice_at">): StoredFailureEpisode {
  return { failedAttempts: row.consecutive_failures, failedDeliveries: row.failed_deliveries, noticedAt: row.failure_notice_at };
}

/** A new hook's store id: a bot's starts with bt_ (its ghost user is named after it), a hook's with ep_. */
export function newOutboundHookId(kind: HookKind): string {
  return `${kind === "bot" ? BOT_ID_PREFIX : "ep_"}${randomBytes(12).toString("hex")}`;
}

/**
 * Outbound hooks' ids, tokens and delivery state, on either engine. The delivery path reads a
 * token and the suspended hooks from memory (`token`, `suspendedIds`): a hook's token is known
 * once the hook was found or created through this store, and kept current by `reload` when
 * another process changed it. Health is written as it changes, so that a restart (or, with
 * PostgreSQL, another process) knows since when a hook fails and whether its room was told.
 */
export interface OutboundHooksStore {
  find(roomId: string, name: string, kind?: HookKind): Promise<StoredOutboundHook | null>;
  byId(id: string): Promise<StoredOutboundHook | null>;
  /** Creates the hook's id and token unless they exist; the token is returned only when new. */
  ensure(roomId: string, name: string, createdBy: string, now?: number, kind?: HookKind): Promise<{ hook: StoredOutboundHook; newToken?: string }>;
  /** The hook's token, without waiting (null: no such hook, or not found through this store yet). */
  token(hookId: string): string | null;
  /** Replaces the token; from now on only the new one is sent. */
  refreshToken(hookId: string): Promise<string>;
  remove(hookId: string): Promise<void>;
  /** Another process changed the hook (or all hooks, without an id): what is held in memory is read again. */
  reload(hookId?: string): Promise<void>;
  /** Stops deliveries to the hook until resumed; the first reason wins. */
  suspend(hookId: string, reason: string, now?: number): Promise<boolean>;
  suspendedIds(): ReadonlySet<string>;
  resume(hookId: string): Promise<boolean>;
  /** Records a failed attempt; returns since when the hook has been failing without a success. */
  markFailing(hookId: string, now?: number): Promise<number>;
  /** Records a success; returns since when it had been failing (null: it was not). */
  markHealthy(hookId: string): Promise<number | null>;
  /** The hook's failure episode (failed attempts since its last success, whether the room was told). */
  failureEpisode(hookId: string): Promise<StoredFailureEpisode>;
  /** Writes the counts (and, alone, whether the room was told: shared, claimFailureNotice and endFailureEpisode write that). */
  saveFailureEpisode(hookId: string, episode: StoredFailureEpisode): Promise<void>;
  /** Updates the episode in memory only (the caller writes it later, or accepts losing it at a restart). */
  cacheFailureEpisode(hookId: string, episode: StoredFailureEpisode): void;
  /** Whether this process is the one to tell the room that the hook is failing (one of several that saw it fail). */
  claimFailureNotice(hookId: string, now: number): Promise<boolean>;
  /** The notice claimed at `at` was not sent after all (the notifier held it back): the episode counts as untold again. */
  releaseFailureNotice(hookId: string, at: number): Promise<void>;
  /** After a success: the failure episode that ended, for its recovery notice, or null (none, or another process ended it). */
  endFailureEpisode(hookId: string): Promise<StoredFailureEpisode | null>;
}

/**
 * The SQLite engine's hooks: one process owns the file (split roles need PostgreSQL), so what it
 * holds in memory is never changed behind its back. Tokens, suspensions and failure state are
 * kept in memory: the delivery path reads them without touching SQLite.
 */
export class OutboundHooksTable implements OutboundHooksStore {
  private readonly tokens = new Map<string, string>();
  private readonly suspended: Set<string>;
  /** hook id → failing since (ms), or null when its last attempt succeeded. */
  private readonly failing = new Map<string, number | null>();
  private readonly episodes = new Map<string, StoredFailureEpisode>();
  private readonly q;

  constructor(
    db: Db,
    private readonly key: Buffer,
  ) {
    this.q = {
      find: db.prepare<[string, HookKind, string], HookRow>(`SELECT ${HOOK_COLUMNS} FROM outbound_hooks WHERE room_id = ? AND kind = ? AND name = ?`),
      byId: db.prepare<[string], HookRow>(`SELECT ${HOOK_COLUMNS} FROM outbound_hooks WHERE id = ?`),
      insert: db.prepare("INSERT INTO outbound_hooks (id, room_id, kind, name, token_enc, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      token: db.prepare<[string], Pick<OutboundHookRow, "token_enc">>("SELECT token_enc FROM outbound_hooks WHERE id = ?"),
      setToken: db.prepare("UPDATE outbound_hooks SET token_enc = ? WHERE id = ?"),
      remove: db.prepare("DELETE FROM outbound_hooks WHERE id = ?"),
      suspend: db.prepare("UPDATE outbound_hooks SET suspended_at = ?, suspended_reason = ? WHERE id = ? AND suspended_at IS NULL"),
      resume: db.prepare("UPDATE outbound_hooks SET suspended_at = NULL, suspended_reason = NULL, failing_since = NULL WHERE id = ? AND suspended_at IS NOT NULL"),
      failing: db.prepare("UPDATE outbound_hooks SET failing_since = ? WHERE id = ?"),
      episode: db.prepare<[string], Pick<OutboundHookRow, "consecutive_failures" | "failed_deliveries" | "failure_notice_at">>(
        "SELECT consecutive_failures, failed_deliveries, failure_notice_at FROM outbound_hooks WHERE id = ?",
      ),
      saveEpisode: db.prepare("UPDATE outbound_hooks SET consecutive_failures = ?, failed_deliveries = ?, failure_notice_at = ? WHERE id = ?"),
      allSuspended: db.prepare<[], { id: string }>("SELECT id FROM outbound_hooks WHERE suspended_at IS NOT NULL"),
    };
    this.suspended = new Set(this.q.allSuspended.all().map((r) => r.id));
  }

  async find(roomId: string, name: string, kind: HookKind = "hook"): Promise<StoredOutboundHook | null> {
    return this.findNow(roomId, name, kind);
  }

  async byId(id: string): Promise<StoredOutboundHook | null> {
    return this.byIdNow(id);
  }

  async ensure(roomId: string, name: string, createdBy: string, now = Date.now(), kind: HookKind = "hook"): Promise<{ hook: StoredOutboundHook; newToken?: string }> {
    const existing = this.findNow(roomId, name, kind);
    if (existing) return { hook: existing };
    const token = newToken();
    const hook: StoredOutboundHook = { id: newOutboundHookId(kind), roomId, kind, name, createdBy, createdAt: now, suspendedAt: null, suspendedReason: null, failingSince: null };
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

  async refreshToken(hookId: string): Promise<string> {
    const token = newToken();
    if (this.q.setToken.run(sealSecret(this.key, token), hookId).changes !== 1) throw new Error(`No outbound hook with id ${hookId}`);
    this.tokens.set(hookId, token);
    return token;
  }

  async remove(hookId: string): Promise<void> {
    this.q.remove.run(hookId);
    this.dropCached(hookId);
  }

  /** The copies held go; they are read from the file again when next needed. */
  async reload(hookId?: string): Promise<void> {
    if (hookId === undefined) {
      this.tokens.clear();
      this.failing.clear();
      this.episodes.clear();
      this.suspended.clear();
      for (const row of this.q.allSuspended.all()) this.suspended.add(row.id);
      return;
    }
    this.dropCached(hookId);
    if (this.byIdNow(hookId)?.suspendedAt != null) this.suspended.add(hookId);
  }

  private dropCached(hookId: string): void {
    this.tokens.delete(hookId);
    this.suspended.delete(hookId);
    this.failing.delete(hookId);
    this.episodes.delete(hookId);
  }

  async suspend(hookId: string, reason: string, now = Date.now()): Promise<boolean> {
    const changed = this.q.suspend.run(now, reason, hookId).changes === 1;
    if (changed) this.suspended.add(hookId);
    return changed;
  }

  suspendedIds(): ReadonlySet<string> {
    return this.suspended;
  }

  async resume(hookId: string): Promise<boolean> {
    const changed = this.q.resume.run(hookId).changes === 1;
    if (changed) {
      this.suspended.delete(hookId);
      this.failing.set(hookId, null);
    }
    return changed;
  }

  async markFailing(hookId: string, now = Date.now()): Promise<number> {
    const since = this.failingSince(hookId);
    if (since !== null) return since;
    this.q.failing.run(now, hookId);
    this.failing.set(hookId, now);
    return now;
  }

  /** Writes only when the hook was failing. */
  async markHealthy(hookId: string): Promise<number | null> {
    const since = this.failingSince(hookId);
    if (since === null) return null;
    this.q.failing.run(null, hookId);
    this.failing.set(hookId, null);
    return since;
  }

  async failureEpisode(hookId: string): Promise<StoredFailureEpisode> {
    return this.episodeNow(hookId);
  }

  async saveFailureEpisode(hookId: string, episode: StoredFailureEpisode): Promise<void> {
    this.q.saveEpisode.run(episode.failedAttempts, episode.failedDeliveries, episode.noticedAt, hookId);
    this.episodes.set(hookId, episode);
  }

  cacheFailureEpisode(hookId: string, episode: StoredFailureEpisode): void {
    this.episodes.set(hookId, episode);
  }

  /** Alone on the file: always this process. */
  async claimFailureNotice(): Promise<boolean> {
    return true;
  }

  /** Nothing was claimed in the file (the notice time is written with the episode). */
  async releaseFailureNotice(): Promise<void> {}

  async endFailureEpisode(hookId: string): Promise<StoredFailureEpisode | null> {
    const episode = this.episodeNow(hookId);
    if (episode.failedAttempts === 0 && episode.noticedAt === null) return null;
    await this.saveFailureEpisode(hookId, NO_STORED_EPISODE);
    return episode;
  }

  private findNow(roomId: string, name: string, kind: HookKind): StoredOutboundHook | null {
    const row = this.q.find.get(roomId, kind, name);
    return row ? toHook(row) : null;
  }

  private byIdNow(id: string): StoredOutboundHook | null {
    const row = this.q.byId.get(id);
    return row ? toHook(row) : null;
  }

  private episodeNow(hookId: string): StoredFailureEpisode {
    let episode = this.episodes.get(hookId);
    if (episode === undefined) {
      const row = this.q.episode.get(hookId);
      episode = row ? storedEpisode(row) : NO_STORED_EPISODE;
      this.episodes.set(hookId, episode);
    }
    return episode;
  }

  private failingSince(hookId: string): number | null {
    if (!this.failing.has(hookId)) this.failing.set(hookId, this.byIdNow(hookId)?.failingSince ?? null);
    return this.failing.get(hookId)!;
  }
}
