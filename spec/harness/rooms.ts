// Rooms with the bridge bot in them, as a room admin would set them up. The helpers live in
// src/demo/ (the demo uses them too, and src/ must not import from spec/).
import { inject } from "vitest";
import type { TestClient } from "../../src/demo/test-client.js";
import { roomWithBot as demoRoomWithBot } from "../../src/demo/demo-room.js";
import { loadRegistration } from "../../src/matrix/registration.js";

export { botNotice, secretFromDm, tokenFromDm } from "../../src/demo/demo-room.js";

/**
 * As the demo's roomWithBot, and when the bot has not joined after 10 s, the appservice is pinged:
 * the specs stop and start bridges back to back, and Synapse backs off (2, 4, 8 s …) from an
 * appservice it could not reach; a ping makes it send what it holds at once. Said on stderr, so a
 * run that needed it shows it.
 */
export function roomWithBot(admin: TestClient, botUserId: string, opts: Omit<NonNullable<Parameters<typeof demoRoomWithBot>[2]>, "nudge"> = {}): Promise<string> {
  return demoRoomWithBot(admin, botUserId, { ...opts, nudge: pingAppservice });
}

async function pingAppservice(): Promise<void> {
  const { url, registrationPath } = inject("synapse");
  const registration = await loadRegistration(registrationPath);
  const res = await fetch(`${url}/_matrix/client/v1/appservice/${encodeURIComponent(registration.id)}/ping`, {
    method: "POST",
    headers: { authorization: `Bearer ${registration.asToken}`, "content-type": "application/json" },
    body: JSON.stringify({ transaction_id: `harness-ping-${Date.now()}` }),
    signal: AbortSignal.timeout(10_000),
  });
  process.stderr.write(`[harness] the bot had not joined after 10 s; pinged the appservice: HTTP ${res.status}\n`);
}
