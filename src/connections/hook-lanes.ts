import { hash } from "node:crypto";

/**
 * A hook with several callback URLs delivers to each on its own: each URL is a lane of the queue,
 * with its own retries, ordering and dead letters. The first URL's lane is the hook's id itself
 * (so hooks with one URL, and jobs queued before lanes existed, are unchanged); another URL's lane
 * is named after the URL, so reordering the list keeps every job with its URL.
 */
const SEPARATOR = "~";

export function laneId(hookId: string, urls: readonly string[], index: number): string {
  if (index === 0) return hookId;
  return `${hookId}${SEPARATOR}${hash("sha256", urls[index]!, "base64url").slice(0, 12)}`;
}

export function laneIds(hook: { id: string; urls: readonly string[] }): string[] {
  return hook.urls.map((_u, i) => laneId(hook.id, hook.urls, i));
}

/** The hook a lane belongs to. */
export function hookIdOfLane(lane: string): string {
  const at = lane.indexOf(SEPARATOR);
  return at < 0 ? lane : lane.slice(0, at);
}

/** The URL a lane delivers to, or null when the hook no longer has it. */
export function laneUrl(hook: { id: string; urls: readonly string[] }, lane: string): string | null {
  if (lane === hook.id) return hook.urls[0] ?? null;
  for (let i = 1; i < hook.urls.length; i++) if (laneId(hook.id, hook.urls, i) === lane) return hook.urls[i]!;
  return null;
}
