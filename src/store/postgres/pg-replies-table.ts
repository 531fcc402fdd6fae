import type pg from "pg";
import { pgQuery } from "./pg-query.js";
import { replyError, replyOf, type PendingReply, type RepliesStore, type ReplyRow } from "../replies-table.js";
import { pgText } from "./pg-store.js";

/** Chat replies in PostgreSQL (store.engine postgres), shared by every process on the database. */
export class PgRepliesTable implements RepliesStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertIfNew(reply: Omit<PendingReply, "id" | "posted">, now = Date.now()): Promise<boolean> {
    const { rowCount } = await pgQuery(this.pool, 
      "INSERT INTO replies (job_id, hook_id, room_id, event_id, parts, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING",
      [reply.jobId, reply.hookId, reply.roomId, reply.eventId, pgText(JSON.stringify(reply.parts)), now],
    );
    return rowCount === 1;
  }

  async pending(limit = 100): Promise<PendingReply[]> {
    const { rows } = await pgQuery<ReplyRow>(this.pool, 
      "SELECT id, job_id, hook_id, room_id, event_id, parts, posted FROM replies WHERE done_at IS NULL ORDER BY id LIMIT $1",
      [limit],
    );
    return rows.map(replyOf);
  }

  async partPosted(id: number, posted: number, done: boolean, now = Date.now()): Promise<void> {
    await pgQuery(this.pool, "UPDATE replies SET posted = $1, done_at = $2 WHERE id = $3", [posted, done ? now : null, id]);
  }

  async giveUp(id: number, error: string, now = Date.now()): Promise<void> {
    await pgQuery(this.pool, "UPDATE replies SET done_at = $1, error = $2 WHERE id = $3", [now, pgText(replyError(error)), id]);
  }

  async prune(olderThan: number): Promise<number> {
    return (await pgQuery(this.pool, "DELETE FROM replies WHERE done_at IS NOT NULL AND done_at < $1", [olderThan])).rowCount ?? 0;
  }
}
