import { hash } from "node:crypto";

/**
 * The webhook-id of (event, hook): stable, so every attempt, replay and restart sends the same one.
 * queue-writer-thread.ts computes it too, for new jobs; a test keeps the two equal.
 */
export function jobId(eventId: string, hookId: string): string {
  return "msg_" + hash("sha256", eventId + "\0" + hookId, "base64url").slice(0, 32);
}
