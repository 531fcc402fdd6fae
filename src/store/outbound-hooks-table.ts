import { randomBytes } from "node:crypto";
import type { Db } from "./database.js";
import { newToken, openSecret, sealSecret } from "./sealed-secret.js";

/** An outbound hook's identity and secret as kept in the store (the URL lives in room state). */
export interface StoredOutboundHook {
  id: string;
  roomId: string;
  name: string;
  createdBy: string;
  createdAt: number;
  /** Set while the hook is paused (by a command) or disabled (by the bridge after failures). */
  suspendedAt: number | null;
  suspendedReason: string | null;
  failingSince: number | null;
}

interface Row {
  id: string;
  room_id: string;
  name: string;
  created_by: string;
  created_at: number;
  token_enc: Buffer;
  suspended_at: number | null;
  suspended_reason: string | null;
  failing_since: number | null;
}

const toHook = (r: Row): StoredOutboundHook => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  createdBy: r.created_by,
  createdAt: r.created_at,
  suspendedAt: r.suspended_at,
  suspendedReason: r.suspended_reason,
  failingSince: r.failing_since,
});

/** Hook ids, tokens (sealed with the configured key) and delivery state. */
export class OutboundHooksTable {
  // Opened tokens, so a delivery does not decrypt on every attempt; memory only.
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {}

  find(roomId: string, name: string): StoredOutboundHook | null {
    const row = this.db
      .prepare<[string, string], Row>("SELECT * FROM outbound_hooks WHERE room_id = ? AND name = ?")
      .get(roomId, name);
    return row ? toHook(row) : null;
  }

  byId(id: string): StoredOutboundHook | null {
    const row = this.db.prepare<[string], Row>("SELECT * FROM outbound_hooks WHERE id = ?").get(id);
    return row ? toHook(row) : null;
  }

  /** Creates the hook's id and token unless they exist; the token is returned only when new. */
  ensure(roomId: string, name: string, createdBy: string, now = Date.now()): { hook: StoredOutboundHook; newToken?: string } {
    const existing = this.find(roomId, name);
    if (existing) return { hook: existing };
    const token = newToken();
    const hook: StoredOutboundHook = {
      id: `ep_${randomBytes(12).toString("hex")}`, roomId, name, createdBy, createdAt: now, suspendedAt: null, suspendedReason: null, failingSince: null,
    };
    this.db
      .prepare("INSERT INTO outbound_hooks (id, room_id, name, token_enc, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(hook.id, roomId, name, sealSecret(this.key, token), createdBy, now);
    return { hook, newToken: token };
  }

  token(hookId: string): string | null {
    const cached = this.tokens.get(hookId);
    if (cached !== undefined) return cached;
    const row = this.db.prepare<[string], Pick<Row, "token_enc">>("SELECT token_enc FROM outbound_hooks WHERE id = ?").get(hookId);
    if (!row) return null;
    const token = openSecret(this.key, row.token_enc);
    this.tokens.set(hookId, token);
    return token;
  }

  /** Replaces the token; from now on only the new one is sent. */
  refreshToken(hookId: string): string {
    const token = newToken();
    const changed = this.db.prepare("UPDATE outbound_hooks SET token_enc = ? WHERE id = ?").run(sealSecret(this.key, token), hookId);
    if (changed.changes !== 1) throw new Error(`No outbound hook with id ${hookId}`);
    this.tokens.set(hookId, token);
    return token;
  }

  remove(hookId: string): void {
    this.db.prepare("DELETE FROM outbound_hooks WHERE id = ?").run(hookId);
    this.tokens.delete(hookId);
  }

  /** Stops deliveries to the hook until resumed; the first reason wins. */
  suspend(hookId: string, reason: string, now = Date.now()): boolean {
    return this.db.prepare("UPDATE outbound_hooks SET suspended_at = ?, suspended_reason = ? WHERE id = ? AND suspended_at IS NULL").run(now, reason, hookId).changes === 1;
  }

  suspendedIds(): Set<string> {
    const rows = this.db.prepare<[], { id: string }>("SELECT id FROM outbound_hooks WHERE suspended_at IS NOT NULL").all();
    return new Set(rows.map((r) => r.id));
  }

  resume(hookId: string): boolean {
    return this.db.prepare("UPDATE outbound_hooks SET suspended_at = NULL, suspended_reason = NULL, failing_since = NULL WHERE id = ? AND suspended_at IS NOT NULL").run(hookId).changes === 1;
  }

  /** Records a failed attempt; returns since when the hook has been failing without a success. */
  markFailing(hookId: string, now = Date.now()): number {
    this.db.prepare("UPDATE outbound_hooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ?").run(now, hookId);
    return this.byId(hookId)?.failingSince ?? now;
  }

  markHealthy(hookId: string): void {
    this.db.prepare("UPDATE outbound_hooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL").run(hookId);
  }
}
