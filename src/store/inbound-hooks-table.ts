import { randomBytes } from "node:crypto";
import type { Db } from "./database.js";
import { hashInboundSecret, newInboundSecret } from "./inbound-hook-secret.js";
import { GithubSecretCache } from "./github-secret-cache.js";
import { sealSecret } from "./sealed-secret.js";

/** An inbound hook's identity as kept in the store (its look and settings live in room state). */
export interface StoredInboundHook {
  id: string;
  roomId: string;
  name: string;
  createdBy: string;
  createdAt: number;
  hasGithubSecret: boolean;
}

/** A row as both engines return it (BYTEA and BLOB both read as a Buffer). */
export interface InboundHookRow {
  id: string;
  room_id: string;
  name: string;
  created_by: string;
  created_at: number;
  github_secret_enc: Buffer | null;
}

export const INBOUND_HOOK_COLUMNS = "id, room_id, name, created_by, created_at, github_secret_enc";

export const toHook = (r: InboundHookRow): StoredInboundHook => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  createdBy: r.created_by,
  createdAt: r.created_at,
  hasGithubSecret: r.github_secret_enc !== null,
});

/** A new hook id: the hook's ghost user is @webhook_<id>. */
export const newInboundHookId = (): string => `ih_${randomBytes(8).toString("hex")}`;

/**
 * Inbound hook ids, the hashes of their URL secrets, and their sealed GitHub secrets: in the
 * SQLite file, or in PostgreSQL when processes on several hosts share them.
 */
export interface InboundHooksStore {
  find(roomId: string, name: string): Promise<StoredInboundHook | null>;
  byId(id: string): Promise<StoredInboundHook | null>;
  /** The hook whose URL carries `secret`, if any. */
  bySecret(secret: string): Promise<StoredInboundHook | null>;
  forRoom(roomId: string): Promise<StoredInboundHook[]>;
  /** Creates the hook's id and URL secret unless they exist; the secret is returned only to the one that created it. */
  ensure(roomId: string, name: string, createdBy: string, now?: number): Promise<{ hook: StoredInboundHook; newSecret?: string }>;
  /** A new URL secret; the old one stops working at once. */
  rotate(id: string): Promise<string>;
  /** False when the room already has a hook of that name. */
  rename(id: string, name: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  githubSecret(id: string): Promise<string | null>;
  /** Null stops requiring GitHub signatures. */
  setGithubSecret(id: string, secret: string | null): Promise<void>;
  /** Another process changed the hook's GitHub secret: it is read from the store again. */
  forgetCached(id: string): void;
  /** Another process's changes may have been missed: every secret is read again. */
  forgetAllCached(): void;
}

/** The hooks in the SQLite file (synchronous underneath: a find and the write after it never interleave). */
export class InboundHooksTable implements InboundHooksStore {
  private readonly githubSecrets = new GithubSecretCache();

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    /** Told after a hook's GitHub secret changed (other processes drop their copy). */
    private readonly changed: (hookId: string) => void = () => undefined,
  ) {}

  async find(roomId: string, name: string): Promise<StoredInboundHook | null> {
    return this.findNow(roomId, name);
  }

  async byId(id: string): Promise<StoredInboundHook | null> {
    return this.byIdNow(id);
  }

  async bySecret(secret: string): Promise<StoredInboundHook | null> {
    const row = this.db
      .prepare<[Buffer], InboundHookRow>(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE secret_hash = ?`)
      .get(hashInboundSecret(this.key, secret));
    return row ? toHook(row) : null;
  }

  async forRoom(roomId: string): Promise<StoredInboundHook[]> {
    return this.db.prepare<[string], InboundHookRow>(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE room_id = ? ORDER BY name`).all(roomId).map(toHook);
  }

  async ensure(roomId: string, name: string, createdBy: string, now = Date.now()): Promise<{ hook: StoredInboundHook; newSecret?: string }> {
    const existing = this.findNow(roomId, name);
    if (existing) return { hook: existing };
    const secret = newInboundSecret();
    const hook: StoredInboundHook = { id: newInboundHookId(), roomId, name, createdBy, createdAt: now, hasGithubSecret: false };
    this.db
      .prepare("INSERT INTO inbound_hooks (id, room_id, name, secret_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(hook.id, roomId, name, hashInboundSecret(this.key, secret), createdBy, now);
    return { hook, newSecret: secret };
  }

  async rotate(id: string): Promise<string> {
    const secret = newInboundSecret();
    const changed = this.db.prepare("UPDATE inbound_hooks SET secret_hash = ? WHERE id = ?").run(hashInboundSecret(this.key, secret), id);
    if (changed.changes !== 1) throw new Error(`No inbound hook with id ${id}`);
    return secret;
  }

  async rename(id: string, name: string): Promise<boolean> {
    const hook = this.byIdNow(id);
    if (!hook) throw new Error(`No inbound hook with id ${id}`);
    if (this.findNow(hook.roomId, name)) return false;
    this.db.prepare("UPDATE inbound_hooks SET name = ? WHERE id = ?").run(name, id);
    return true;
  }

  async remove(id: string): Promise<void> {
    this.db.prepare("DELETE FROM inbound_hooks WHERE id = ?").run(id);
    this.githubSecrets.forget(id);
  }

  async githubSecret(id: string): Promise<string | null> {
    return this.githubSecrets.read(id, this.key, () =>
      this.db.prepare<[string], Pick<InboundHookRow, "github_secret_enc">>("SELECT github_secret_enc FROM inbound_hooks WHERE id = ?").get(id)?.github_secret_enc ?? null);
  }

  async setGithubSecret(id: string, secret: string | null): Promise<void> {
    this.db.prepare("UPDATE inbound_hooks SET github_secret_enc = ? WHERE id = ?").run(secret === null ? null : sealSecret(this.key, secret), id);
    this.githubSecrets.set(id, secret);
    this.changed(id);
  }

  forgetCached(id: string): void {
    this.githubSecrets.forget(id);
  }

  forgetAllCached(): void {
    this.githubSecrets.clear();
  }

  private findNow(roomId: string, name: string): StoredInboundHook | null {
    const row = this.db.prepare<[string, string], InboundHookRow>(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE room_id = ? AND name = ?`).get(roomId, name);
    return row ? toHook(row) : null;
  }

  private byIdNow(id: string): StoredInboundHook | null {
    const row = this.db.prepare<[string], InboundHookRow>(`SELECT ${INBOUND_HOOK_COLUMNS} FROM inbound_hooks WHERE id = ?`).get(id);
    return row ? toHook(row) : null;
  }
}
