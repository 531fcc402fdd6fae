import { randomBytes } from "node:crypto";
import type { Db } from "./database.js";
import { hashInboundSecret, newInboundSecret } from "./inbound-hook-secret.js";
import { openSecret, sealSecret } from "./sealed-secret.js";

/** An inbound hook's identity as kept in the store (its look and settings live in room state). */
export interface StoredInboundHook {
  id: string;
  roomId: string;
  name: string;
  createdBy: string;
  createdAt: number;
  hasGithubSecret: boolean;
}

interface Row {
  id: string;
  room_id: string;
  name: string;
  created_by: string;
  created_at: number;
  github_secret_enc: Buffer | null;
}

const COLUMNS = "id, room_id, name, created_by, created_at, github_secret_enc";

const toHook = (r: Row): StoredInboundHook => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  createdBy: r.created_by,
  createdAt: r.created_at,
  hasGithubSecret: r.github_secret_enc !== null,
});

/** Inbound hook ids, the hashes of their URL secrets, and their sealed GitHub secrets. */
export class InboundHooksTable {
  // Opened GitHub secrets, so a verified request does not decrypt every time; memory only.
  private readonly githubSecrets = new Map<string, string | null>();

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    /** Told after a hook's GitHub secret changed (other processes drop their copy). */
    private readonly changed: (hookId: string) => void = () => undefined,
  ) {}

  find(roomId: string, name: string): StoredInboundHook | null {
    const row = this.db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM inbound_hooks WHERE room_id = ? AND name = ?`).get(roomId, name);
    return row ? toHook(row) : null;
  }

  byId(id: string): StoredInboundHook | null {
    const row = this.db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM inbound_hooks WHERE id = ?`).get(id);
    return row ? toHook(row) : null;
  }

  /** The hook whose URL carries `secret`, if any. */
  bySecret(secret: string): StoredInboundHook | null {
    const row = this.db
      .prepare<[Buffer], Row>(`SELECT ${COLUMNS} FROM inbound_hooks WHERE secret_hash = ?`)
      .get(hashInboundSecret(this.key, secret));
    return row ? toHook(row) : null;
  }

  forRoom(roomId: string): StoredInboundHook[] {
    return this.db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM inbound_hooks WHERE room_id = ? ORDER BY name`).all(roomId).map(toHook);
  }

  /** Creates the hook's id and URL secret unless they exist; the secret is returned only when new. */
  ensure(roomId: string, name: string, createdBy: string, now = Date.now()): { hook: StoredInboundHook; newSecret?: string } {
    const existing = this.find(roomId, name);
    if (existing) return { hook: existing };
    const secret = newInboundSecret();
    const hook: StoredInboundHook = { id: `ih_${randomBytes(8).toString("hex")}`, roomId, name, createdBy, createdAt: now, hasGithubSecret: false };
    this.db
      .prepare("INSERT INTO inbound_hooks (id, room_id, name, secret_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(hook.id, roomId, name, hashInboundSecret(this.key, secret), createdBy, now);
    return { hook, newSecret: secret };
  }

  /** A new URL secret; the old one stops working at once. */
  rotate(id: string): string {
    const secret = newInboundSecret();
    const changed = this.db.prepare("UPDATE inbound_hooks SET secret_hash = ? WHERE id = ?").run(hashInboundSecret(this.key, secret), id);
    if (changed.changes !== 1) throw new Error(`No inbound hook with id ${id}`);
    return secret;
  }

  /** False when the room already has a hook of that name. */
  rename(id: string, name: string): boolean {
    const hook = this.byId(id);
    if (!hook) throw new Error(`No inbound hook with id ${id}`);
    if (this.find(hook.roomId, name)) return false;
    this.db.prepare("UPDATE inbound_hooks SET name = ? WHERE id = ?").run(name, id);
    return true;
  }

  remove(id: string): void {
    this.db.prepare("DELETE FROM inbound_hooks WHERE id = ?").run(id);
    this.githubSecrets.delete(id);
  }

  githubSecret(id: string): string | null {
    const cached = this.githubSecrets.get(id);
    if (cached !== undefined) return cached;
    const row = this.db.prepare<[string], Pick<Row, "github_secret_enc">>("SELECT github_secret_enc FROM inbound_hooks WHERE id = ?").get(id);
    const secret = row?.github_secret_enc ? openSecret(this.key, row.github_secret_enc) : null;
    this.githubSecrets.set(id, secret);
    return secret;
  }

  /** Null stops requiring GitHub signatures. */
  setGithubSecret(id: string, secret: string | null): void {
    this.db.prepare("UPDATE inbound_hooks SET github_secret_enc = ? WHERE id = ?").run(secret === null ? null : sealSecret(this.key, secret), id);
    this.githubSecrets.set(id, secret);
    this.changed(id);
  }

  /** Another process changed the hook's GitHub secret: it is read from the store again. */
  forgetCached(id: string): void {
    this.githubSecrets.delete(id);
  }

  /** Another process's changes may have been missed: every secret is read again. */
  forgetAllCached(): void {
    this.githubSecrets.clear();
  }
}
