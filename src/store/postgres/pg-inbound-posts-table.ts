import type pg from "pg";
import {
  firstPartPrefix, INBOUND_POST_COLUMNS, newPostId, postOf,
  type InboundPost, type InboundPostRow, type InboundPostsStore, type InboundPostState, type NewInboundPost,
} from "../inbound-posts-table.js";
import { pgQuery } from "./pg-query.js";
import { pgText } from "./pg-store.js";

/**
 * The inbound posts in PostgreSQL, shared by the processes on every host. A delivery id is
 * stored once per hook (the partial unique index inbound_posts_delivery): of two processes
 * storing the same redelivery at once, the second waits for the first's insert and finds its post.
 */
export class PgInboundPostsTable implements InboundPostsStore {
  constructor(private readonly pool: pg.Pool) {}

  async store(post: NewInboundPost, now = Date.now()): Promise<{ post: InboundPost; created: boolean }> {
    // JSON.stringify writes U+0000 as \u0000, so only the delivery id (from a header) needs pgText.
    const deliveryKey = pgText(post.deliveryKey);
    const { rows } = await pgQuery<InboundPostRow>(
      this.pool,
      `INSERT INTO inbound_posts (id, hook_id, room_id, delivery_key, parts, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING RETURNING ${INBOUND_POST_COLUMNS}`,
      [newPostId(), post.hookId, pgText(post.roomId), deliveryKey, JSON.stringify(post.parts), now],
    );
    if (rows[0]) return { post: postOf(rows[0]), created: true };
    const existing = deliveryKey === null ? null : await this.row(`SELECT ${INBOUND_POST_COLUMNS} FROM inbound_posts WHERE hook_id = $1 AND delivery_key = $2`, [post.hookId, deliveryKey]);
    if (!existing) throw new Error("an inbound post could be neither stored nor found");
    return { post: postOf(existing), created: false };
  }

  async byId(id: string): Promise<InboundPost | null> {
    const row = await this.row(`SELECT ${INBOUND_POST_COLUMNS} FROM inbound_posts WHERE id = $1`, [id]);
    return row ? postOf(row) : null;
  }

  async next(hookId: string): Promise<InboundPost | null> {
    const row = await this.row(`SELECT ${INBOUND_POST_COLUMNS} FROM inbound_posts WHERE hook_id = $1 AND done_at IS NULL ORDER BY seq LIMIT 1`, [hookId]);
    return row ? postOf(row) : null;
  }

  async hooksWithPending(limit = 1000): Promise<string[]> {
    const { rows } = await pgQuery<{ hook_id: string }>(this.pool, "SELECT hook_id FROM inbound_posts WHERE done_at IS NULL GROUP BY hook_id ORDER BY MIN(seq) LIMIT $1", [limit]);
    return rows.map((r) => r.hook_id);
  }

  async partPosted(post: InboundPost, eventId: string): Promise<void> {
    const eventIds = [...post.eventIds, eventId];
    await pgQuery(this.pool, "UPDATE inbound_posts SET posted = $1, event_ids = $2 WHERE seq = $3", [post.posted + 1, JSON.stringify(eventIds), post.seq]);
    // Changed once written: a failed write leaves the post as the store has it (the part is sent again, with the same transaction id).
    post.eventIds = eventIds;
    post.posted += 1;
  }

  async finish(post: InboundPost, state: Exclude<InboundPostState, "queued">, error: { kind: string; reason: string } | null = null, now = Date.now()): Promise<void> {
    const reason = error === null ? null : pgText(error.reason.slice(0, 1000));
    const kind = error?.kind ?? null;
    await pgQuery(this.pool, "UPDATE inbound_posts SET state = $1, error = $2, error_kind = $3, parts = '[]', done_at = $4 WHERE seq = $5", [state, reason, kind, now, post.seq]);
    post.state = state;
    post.error = reason;
    post.errorKind = kind;
  }

  async postedWith(hookId: string, eventId: string): Promise<string[]> {
    // A rare request (a message deleted by its sender): a scan of the hook's rows, no index kept for it.
    const { rows } = await pgQuery<{ event_ids: string }>(this.pool, "SELECT event_ids FROM inbound_posts WHERE hook_id = $1 AND starts_with(event_ids, $2) LIMIT 1", [hookId, pgText(firstPartPrefix(eventId))]);
    return rows[0] ? (JSON.parse(rows[0].event_ids) as string[]) : [];
  }

  async pendingCount(): Promise<number> {
    const { rows } = await pgQuery<{ n: number }>(this.pool, "SELECT COUNT(*) AS n FROM inbound_posts WHERE done_at IS NULL");
    return rows[0]?.n ?? 0;
  }

  async prune(olderThan: number): Promise<number> {
    return (await pgQuery(this.pool, "DELETE FROM inbound_posts WHERE done_at IS NOT NULL AND done_at < $1", [olderThan])).rowCount ?? 0;
  }

  private async row(text: string, values: unknown[]): Promise<InboundPostRow | null> {
    const { rows } = await pgQuery<InboundPostRow>(this.pool, text, values);
    return rows[0] ?? null;
  }
}
