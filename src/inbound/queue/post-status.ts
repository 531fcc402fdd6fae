import type { InboundPost, InboundPostsStore } from "../../store/inbound-posts-table.js";

const POST_ID = /^ip_[A-Za-z0-9_-]{22}$/;

/**
 * The answer to `GET /webhook/{hook}/posts/{post}`: what became of a post answered 202. Only the
 * hook's own posts (the URL is the credential); anything else is null (404).
 */
export async function postStatusBody(posts: Pick<InboundPostsStore, "byId">, hookId: string, postId: string): Promise<Record<string, unknown> | null> {
  const post = POST_ID.test(postId) ? await posts.byId(postId) : null;
  if (!post || post.hookId !== hookId) return null;
  return { ok: true, id: post.id, state: post.state, event_ids: post.eventIds, ...errorOf(post), created_at: new Date(post.createdAt).toISOString() };
}

const errorOf = (post: InboundPost) => (post.error !== null ? { error: post.error } : {});
