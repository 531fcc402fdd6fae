import type { Db } from "./database.js";

/** A reply waiting to be posted (or partly posted). */
export interface PendingReply {
  id: number;
  jobId: string;
  hookId: string;
  roomId: string;
  eventId: string;
  parts: Array<Record<string, unknown>>;
  posted: number;
}

interface Row {
  id: number;
  job_id: string;
  hook_id: string;
  room_id: string;
  event_id: string;
  parts: string;
  posted: number;
}

/**
 * Chat hooks' replies, stored before they are posted and named by the delivery they answer: a
 * second answer to the same delivery (a retry after a lost response) is not stored again.
 */
export class RepliesTable {
  constructor(private readonly db: Db) {}

  /** Stores the reply unless one for this delivery exists; true when it was new. */
  insertIfNew(reply: Omit<PendingReply, "id" | "posted">, now = Date.now()): boolean {
    return this.db
      .prepare("INSERT INTO replies (job_id, hook_id, room_id, event_id, parts, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING")
      .run(reply.jobId, reply.hookId, reply.roomId, reply.eventId, JSON.stringify(reply.parts), now).changes === 1;
  }

  /** Replies not fully posted, oldest first. */
  pending(limit = 100): PendingReply[] {
    return this.db
      .prepare<[number], Row>("SELECT id, job_id, hook_id, room_id, event_id, parts, posted FROM replies WHERE done_at IS NULL ORDER BY id LIMIT ?")
      .all(limit)
      .map((r) => ({ id: r.id, jobId: r.job_id, hookId: r.hook_id, roomId: r.room_id, eventId: r.event_id, parts: JSON.parse(r.parts) as PendingReply["parts"], posted: r.posted }));
  }

  partPosted(id: number, posted: number, done: boolean, now = Date.now()): void {
    this.db.prepare("UPDATE replies SET posted = ?, done_at = ? WHERE id = ?").run(posted, done ? now : null, id);
  }

  /** Posting stopped for good (the room refuses it): kept with the reason until pruned. */
  giveUp(id: number, error: string, now = Date.now()): void {
    this.db.prepare("UPDATE replies SET done_at = ?, error = ? WHERE id = ?").run(now, error.slice(0, 1000), id);
  }

  prune(olderThan: number): number {
    return this.db.prepare("DELETE FROM replies WHERE done_at IS NOT NULL AND done_at < ?").run(olderThan).changes;
  }
}
