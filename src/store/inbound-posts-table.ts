import { randomBytes } from "node:crypto";
import type { Db } from "./database.js";

export type InboundPostState = "queued" | "posted" | "refused" | "dropped" | "expired";

/** An inbound post as stored: its parts, how many are in the room, and what became of it. */
export interface InboundPost {
  seq: number;
  /** ip_… public id: the 202 answer, and the root of its parts' transaction ids. */
  id: string;
  hookId: string;
  roomId: string;
  deliveryKey: string | null;
  parts: Array<Record<string, unknown>>;
  posted: number;
  eventIds: string[];
  state: InboundPostState;
  error: string | null;
  /** The InboundError kind a refusal was answered with (bad_request, too_large, forbidden). */
  errorKind: string | null;
  createdAt: number;
}

/** A row as both engines return it. */
export interface InboundPostRow {
  seq: number;
  id: string;
  hook_id: string;
  room_id: string;
  delivery_key: string | null;
  parts: string;
  posted: number;
  event_ids: string;
  state: InboundPostState;
  error: string | null;
  error_kind: string | null;
  created_at: number;
}

export const INBOUND_POST_COLUMNS = "seq, id, hook_id, room_id, delivery_key, parts, posted, event_ids, state, error, error_kind, created_at";

export const postOf = (r: InboundPostRow): InboundPost => ({
  seq: r.seq,
  id: r.id,
  hookId: r.hook_id,
  roomId: r.room_id,
  deliveryKey: r.delivery_key,
  parts: JSON.parse(r.parts) as InboundPost["parts"],
  posted: r.posted,
  eventIds: JSON.parse(r.event_ids) as string[],
  state: r.state,
  error: r.error,
  errorKind: r.error_kind,
  createdAt: r.created_at,
});

/** A new post id: 128 random bits, so ids cannot be guessed to look up someone else's post. */
export const newPostId = (): string => `ip_${randomBytes(16).toString("base64url")}`;

/** What a post's sender gave: stored as one post, unless the hook has one with its delivery id. */
export interface NewInboundPost {
  hookId: string;
  roomId: string;
  deliveryKey: string | null;
  parts: Array<Record<string, unknown>>;
}

/** The `postedWith` prefix: the JSON of a one-id array without its closing bracket (`["$id"`). */
export const firstPartPrefix = (eventId: string): string => JSON.stringify([eventId]).slice(0, -1);

/**
 * Inbound posts, stored before the sender is answered: in the SQLite file, or in PostgreSQL when
 * processes on several hosts share them. A hook's pending posts come out in the order they were
 * stored (by seq); a post with the sender's delivery id is stored once per hook.
 */
export interface InboundPostsStore {
  /** Stores a post, unless the hook already has one with this delivery id: then that one is returned (a redelivery). `created` says which. */
  store(post: NewInboundPost, now?: number): Promise<{ post: InboundPost; created: boolean }>;
  byId(id: string): Promise<InboundPost | null>;
  /** The hook's oldest post not done, or null. */
  next(hookId: string): Promise<InboundPost | null>;
  /** Hooks with posts to post, the one waiting longest first. */
  hooksWithPending(limit?: number): Promise<string[]>;
  /** One more part is in the room: recorded with its event id before the next part is sent. */
  partPosted(post: InboundPost, eventId: string): Promise<void>;
  /** The post is over (posted, or given up with the reason): its contents are not kept. */
  finish(post: InboundPost, state: Exclude<InboundPostState, "queued">, error?: { kind: string; reason: string } | null, now?: number): Promise<void>;
  /** The event ids of the hook's post whose first part is `eventId` (a message and its files), or [] (unknown, or pruned). */
  postedWith(hookId: string, eventId: string): Promise<string[]>;
  /** Posts not done yet (the queued-posts gauge). */
  pendingCount(): Promise<number>;
  /** Forgets the posts done before the cutoff; returns how many. */
  prune(olderThan: number): Promise<number>;
}

/** The posts in the SQLite file. */
export class InboundPostsTable implements InboundPostsStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        "INSERT INTO inbound_posts (id, hook_id, room_id, delivery_key, parts, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      byKey: db.prepare<[string, string], InboundPostRow>(`SELECT ${INBOUND_POST_COLUMNS} FROM inbound_posts WHERE hook_id = ? AND delivery_key = ?`),
      byId: db.prepare<[string], InboundPostRow>(`SELECT ${INBOUND_POST_COLUMNS} FROM inbound_posts WHERE id = ?`),
      next: db.prepare<[string], InboundPostRow>(`SELECT ${INBOUND_POST_COLUMNS} FROM inbound_posts WHERE hook_id = ? AND done_at IS NULL ORDER BY seq LIMIT 1`),
      hooks: db.prepare<[number], { hook_id: string }>(
        "SELECT hook_id FROM inbound_posts WHERE done_at IS NULL GROUP BY hook_id ORDER BY MIN(seq) LIMIT ?",
      ),
      partPosted: db.prepare("UPDATE inbound_posts SET posted = ?, event_ids = ? WHERE seq = ?"),
      finish: db.prepare("UPDATE inbound_posts SET state = ?, error = ?, error_kind = ?, parts = '[]', done_at = ? WHERE seq = ?"),
      // A rare request (a message deleted by its sender): a scan of the hook's rows, no index kept for it.
      firstPart: db.prepare<[string, number, string], { event_ids: string }>("SELECT event_ids FROM inbound_posts WHERE hook_id = ? AND substr(event_ids, 1, ?) = ? LIMIT 1"),
      pending: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM inbound_posts WHERE done_at IS NULL"),
      prune: db.prepare("DELETE FROM inbound_posts WHERE done_at IS NOT NULL AND done_at < ?"),
    };
  }

  async store(post: NewInboundPost, now = Date.now()): Promise<{ post: InboundPost; created: boolean }> {
    const id = newPostId();
    const inserted = this.q.insert.run(id, post.hookId, post.roomId, post.deliveryKey, JSON.stringify(post.parts), now).changes === 1;
    const row = inserted ? this.q.byId.get(id) : this.q.byKey.get(post.hookId, post.deliveryKey ?? "");
    if (!row) throw new Error("an inbound post could be neither stored nor found");
    return { post: postOf(row), created: inserted };
  }

  async byId(id: string): Promise<InboundPost | null> {
    const row = this.q.byId.get(id);
    return row ? postOf(row) : null;
  }

  async next(hookId: string): Promise<InboundPost | null> {
    const row = this.q.next.get(hookId);
    return row ? postOf(row) : null;
  }

  async hooksWithPending(limit = 1000): Promise<string[]> {
    return this.q.hooks.all(limit).map((r) => r.hook_id);
  }

  async partPosted(post: InboundPost, eventId: string): Promise<void> {
    post.eventIds.push(eventId);
    post.posted += 1;
    this.q.partPosted.run(post.posted, JSON.stringify(post.eventIds), post.seq);
  }

  async finish(post: InboundPost, state: Exclude<InboundPostState, "queued">, error: { kind: string; reason: string } | null = null, now = Date.now()): Promise<void> {
    post.state = state;
    post.error = error?.reason.slice(0, 1000) ?? null;
    post.errorKind = error?.kind ?? null;
    this.q.finish.run(state, post.error, post.errorKind, now, post.seq);
  }

  async postedWith(hookId: string, eventId: string): Promise<string[]> {
    const prefix = firstPartPrefix(eventId);
    const row = this.q.firstPart.get(hookId, prefix.length, prefix);
    return row ? (JSON.parse(row.event_ids) as string[]) : [];
  }

  async pendingCount(): Promise<number> {
    return this.q.pending.get()?.n ?? 0;
  }

  async prune(olderThan: number): Promise<number> {
    return this.q.prune.run(olderThan).changes;
  }
}
