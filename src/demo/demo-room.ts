// Rooms with the bridge bot in them, as a room admin sets them up (used by `--demo` and the e2e specs).
import type { MatrixEvent, TestClient } from "./test-client.js";

/**
 * Creates a room, gives the bot power to write hook state (unless told not to), invites it and
 * waits for its join. `nudge`: called once if the bot has not joined after 10 s (the e2e harness
 * pings the appservice: Synapse may still be backing off from a bridge stopped just before), then
 * 15 s more.
 */
export async function roomWithBot(
  admin: TestClient,
  botUserId: string,
  opts: { botLevel?: number; invite?: string[]; powerLevels?: Record<string, unknown>; name?: string; nudge?: () => Promise<void> } = {},
): Promise<string> {
  // Room version 12 (Synapse's default): the creator is all-powerful and must not be listed in users.
  const users: Record<string, number> = { [botUserId]: opts.botLevel ?? 50 };
  const roomId = await admin.createRoom({ invite: opts.invite, name: opts.name, powerLevelContentOverride: { users, ...opts.powerLevels } });
  await admin.invite(roomId, botUserId);
  const joined = (timeoutMs: number) => admin.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === botUserId && e.content.membership === "join", { timeoutMs });
  if (!opts.nudge) {
    await joined(15_000);
    return roomId;
  }
  const nudge = opts.nudge;
  // The homeserver may be backing off from an appservice it could not reach: nudged up to 3 times.
  for (let attempt = 0; ; attempt++) {
    try {
      await joined(attempt === 0 ? 10_000 : 8_000);
      return roomId;
    } catch (err) {
      if (attempt >= 3) throw err;
      await nudge();
    }
  }
}

/** The bot's next notice in the room that matches. */
export function botNotice(client: TestClient, roomId: string, botUserId: string, match: RegExp, timeoutMs = 10_000): Promise<MatrixEvent> {
  return client.waitForEvent(roomId, (e) => e.sender === botUserId && e.content.msgtype === "m.notice" && match.test(String(e.content.body)), { timeoutMs });
}

/** Joins the bot's DM invite (once) and returns the token from the newest token message for `hookName`. */
export function tokenFromDm(client: TestClient, botUserId: string, hookName: string, seen: Set<string> = new Set()): Promise<string> {
  return secretFromDm(client, botUserId, `Token for outbound hook "${hookName}"`, seen);
}

/** The second line of the bot's newest DM whose first line starts with `heading` (how secrets are shown). */
export async function secretFromDm(client: TestClient, botUserId: string, heading: string, seen: Set<string> = new Set()): Promise<string> {
  const joined = await client.joinedRooms();
  let dmRoom = joined.find((r) => seen.has(r));
  if (!dmRoom) {
    dmRoom = await client.waitForInvite((_id, state) => state.some((e) => e.sender === botUserId));
    await client.join(dmRoom);
    seen.add(dmRoom);
  }
  const message = await client.waitForEvent(dmRoom, (e) => e.sender === botUserId && String(e.content.body).startsWith(heading));
  const secret = String(message.content.body).split("\n")[1];
  if (!secret) throw new Error(`no secret line in: ${String(message.content.body)}`);
  return secret;
}
