import { createHash } from "node:crypto";

/** Stable job id for (event, hook): a homeserver re-send or a restart never makes a second job. */
export function jobId(eventId: string, hookId: string): string {
  return "msg_" + createHash("sha256").update(eventId).update("\0").update(hookId).digest("base64url").slice(0, 32);
}
