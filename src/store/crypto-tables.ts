import type { Db } from "./database.js";

/** The device each bridge user (bot and ghosts) encrypts with; chosen once, kept for good. */
export class CryptoDevicesTable {
  constructor(private readonly db: Db) {}

  get(userId: string): string | null {
    return this.db.prepare<[string], { device_id: string }>("SELECT device_id FROM crypto_devices WHERE user_id = ?").get(userId)?.device_id ?? null;
  }

  set(userId: string, deviceId: string): void {
    this.db.prepare("INSERT INTO crypto_devices (user_id, device_id, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET device_id = excluded.device_id")
      .run(userId, deviceId, Date.now());
  }

  users(): string[] {
    return this.db.prepare<[], { user_id: string }>("SELECT user_id FROM crypto_devices ORDER BY user_id").all().map((r) => r.user_id);
  }
}

/** Each room's encryption settings as last read (the bot SDK's room tracker keeps them here). */
export class CryptoRoomsTable {
  constructor(private readonly db: Db) {}

  get(roomId: string): Record<string, unknown> | null {
    const row = this.db.prepare<[string], { settings: string }>("SELECT settings FROM crypto_rooms WHERE room_id = ?").get(roomId);
    if (!row) return null;
    try {
      const parsed: unknown = JSON.parse(row.settings);
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null; // read again from the room
    }
  }

  set(roomId: string, settings: Record<string, unknown>): void {
    this.db.prepare("INSERT INTO crypto_rooms (room_id, settings) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET settings = excluded.settings").run(roomId, JSON.stringify(settings));
  }

  forget(roomId: string): void {
    this.db.prepare("DELETE FROM crypto_rooms WHERE room_id = ?").run(roomId);
  }
}

export interface UndecryptedEvent {
  eventId: string;
  roomId: string;
  sessionId: string;
  /** The encrypted event as received (JSON). */
  event: string;
  reason: string;
  receivedAt: number;
}

/** Encrypted events whose key has not arrived yet: decrypted and routed when it does. */
export class UndecryptedEventsTable {
  constructor(private readonly db: Db) {}

  add(e: UndecryptedEvent): void {
    this.db.prepare("INSERT INTO undecrypted_events (event_id, room_id, session_id, event, reason, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET reason = excluded.reason")
      .run(e.eventId, e.roomId, e.sessionId, e.event, e.reason, e.receivedAt);
  }

  forSession(sessionId: string): UndecryptedEvent[] {
    return this.rows("WHERE session_id = ? ORDER BY received_at, event_id", sessionId);
  }

  /** The oldest first, at most `limit`. */
  all(limit: number): UndecryptedEvent[] {
    return this.rows("ORDER BY received_at, event_id LIMIT ?", limit);
  }

  remove(eventId: string): void {
    this.db.prepare("DELETE FROM undecrypted_events WHERE event_id = ?").run(eventId);
  }

  count(): number {
    return this.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM undecrypted_events").get()!.n;
  }

  /** Drops those older than `cutoff` (their key never came); returns them, to say so. */
  expire(cutoff: number): UndecryptedEvent[] {
    const old = this.rows("WHERE received_at < ? ORDER BY received_at", cutoff);
    this.db.prepare("DELETE FROM undecrypted_events WHERE received_at < ?").run(cutoff);
    return old;
  }

  private rows(tail: string, ...args: (string | number)[]): UndecryptedEvent[] {
    return this.db.prepare<(string | number)[], { event_id: string; room_id: string; session_id: string; event: string; reason: string; received_at: number }>(
      `SELECT event_id, room_id, session_id, event, reason, received_at FROM undecrypted_events ${tail}`,
    ).all(...args).map((r) => ({ eventId: r.event_id, roomId: r.room_id, sessionId: r.session_id, event: r.event, reason: r.reason, receivedAt: r.received_at }));
  }
}
