import type { TestClient } from "../../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./bridge.js";
import { Receiver } from "./receiver.js";
import { roomWithBot } from "./rooms.js";
import { registerUser, uniqueName } from "./users.js";

/** What most outbound suites start with: a bridge, a receiver, and a room of an admin and a member with the bot in it. */
export interface RoomWithMember {
  bridge: BridgeUnderTest;
  receiver: Receiver;
  admin: TestClient;
  member: TestClient;
  roomId: string;
  /** Stops what started (also after a start that failed halfway). */
  stop(): Promise<void>;
}

export async function startRoomWithMember(overrides: Parameters<typeof startBridge>[0] = {}): Promise<RoomWithMember> {
  const bridge = await startBridge(overrides);
  const receiver = await Receiver.start().catch(async (err: unknown) => {
    await bridge.stop();
    throw err;
  });
  const stop = async () => {
    await bridge.stop();
    await receiver.stop();
  };
  try {
    const admin = (await registerUser(uniqueName("admin"))).client;
    const member = (await registerUser(uniqueName("member"))).client;
    const roomId = await roomWithBot(admin, bridge.botUserId, { invite: [member.userId] });
    await member.join(roomId);
    return { bridge, receiver, admin, member, roomId, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
