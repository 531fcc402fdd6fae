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

export interface ReplyRow {
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
 * In the SQLite file (RepliesTable) or in PostgreSQL (PgRepliesTable), whichever store.engine says.
 */
export interface RepliesStore {
  /** Stores the reply unless one for this delivery exists; true when it was new. */
  insertIfNew(reply: Omit<PendingReply, "id" | "posted">, now?: number): Promise<boolean>;
  /** Replies not fully posted, oldest first. */
  pending(limit?: number): Promise<PendingReply[]>;
  /** `posted` parts are in the room; `done` when that is all of them. */
  partPosted(id: number, posted: number, done: boolean, now?: number): Promise<void>;
  /** Posting stopped for good (the room refuses it): kept with the reason until pruned. */
  giveUp(id: number, error: string, now?: number): Promise<void>;
  /** Deletes replies done before the cutoff; how many. */
  prune(olderThan: number): Promise<number>;
}

/** A stored reply's parts as the JSON column keeps them. */
export function replyOf(r: ReplyRow): PendingReply {
  return { id: r.id, jobId: r.job_id, hookId: r.hook_id, roomId: r.room_id, eventId: r.event_id, parts: JSON.parse(r.parts) as PendingReply["parts"], posted: r.posted };
}

/** The error kept with a reply given up: enough to say why, never a whole answer. */
export const replyError = (error: string): string => error.slice(0, 1000);

export class RepliesTable implements RepliesStore {
  constructor(private readonly db: Db) {}

  async insertIfNew(reply: Omit<PendingReply, "id" | "posted">, now = Date.now()): Promise<boolean> {
    return this.db
      .prepare("INSERT INTO replies (job_id, hook_id, room_id, event_id, parts, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING")
      .run(reply.jobId, reply.hookId, reply.roomId, reply.eventId, JSON.stringify(reply.parts), now).changes === 1;
  }

  async pending(limit = 100): Promise<PendingReply[]> {
    return this.db
      .prepare<[number], ReplyRow>("SELECT id, job_id, hook_id, room_id, event_id, parts, posted FROM replies WHERE done_at IS NULL ORDER BY id LIMIT ?")
      .all(limit)
      .map(replyOf);
  }

  async partPosted(id: number, posted: number, done: boolean, now = Date.now()): Promise<void> {
    this.db.prepare("UPDATE replies SET posted = ?, done_at = ? WHERE id = ?").run(posted, done ? now : null, id);
  }

  async giveUp(id: number, error: string, now = Date.now()): Promise<void> {
    this.db.prepare("UPDATE replies SET done_at = ?, error = ? WHERE id = ?").run(now, replyError(error), id);
  }

  async prune(olderThan: number): Promise<number> {
    return this.db.prepare("DELETE FROM replies WHERE done_at IS NOT NULL AND done_at < ?").run(olderThan).changes;
  }
}
