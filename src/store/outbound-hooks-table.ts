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
}

interface Row {
  id: string;
  room_id: string;
  name: string;
  created_by: string;
  created_at: number;
  token_enc: Buffer;
}

const toHook = (r: Row): StoredOutboundHook => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** Hook ids and tokens, tokens sealed with the configured key. */
export class OutboundHooksTable {
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
    const hook: StoredOutboundHook = { id: `ep_${randomBytes(12).toString("hex")}`, roomId, name, createdBy, createdAt: now };
    this.db
      .prepare("INSERT INTO outbound_hooks (id, room_id, name, token_enc, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(hook.id, roomId, name, sealSecret(this.key, token), createdBy, now);
    return { hook, newToken: token };
  }

  token(hookId: string): string | null {
    const row = this.db.prepare<[string], Pick<Row, "token_enc">>("SELECT token_enc FROM outbound_hooks WHERE id = ?").get(hookId);
    return row ? openSecret(this.key, row.token_enc) : null;
  }

  /** Replaces the token; from now on only the new one is sent. */
  refreshToken(hookId: string): string {
    const token = newToken();
    const changed = this.db.prepare("UPDATE outbound_hooks SET token_enc = ? WHERE id = ?").run(sealSecret(this.key, token), hookId);
    if (changed.changes !== 1) throw new Error(`No outbound hook with id ${hookId}`);
    return token;
  }

  remove(hookId: string): void {
    this.db.prepare("DELETE FROM outbound_hooks WHERE id = ?").run(hookId);
  }
}
