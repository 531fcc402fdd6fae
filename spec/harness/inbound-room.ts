import type { TestClient } from "../../src/demo/test-client.js";
import type { BridgeUnderTest } from "./bridge.js";
import { botNotice, roomWithBot, secretFromDm } from "./rooms.js";
import { registerUser, uniqueName } from "./users.js";

/** A new room admin's room with the bridge bot and inbound hooks added by command; each hook's URL as its DM gave it. */
export async function roomWithInboundHooks(bridge: BridgeUnderTest, names: readonly string[]): Promise<{ admin: TestClient; roomId: string; urls: Map<string, string> }> {
  const admin = (await registerUser(uniqueName("admin"))).client;
  const roomId = await roomWithBot(admin, bridge.botUserId);
  const dm = new Set<string>();
  const urls = new Map<string, string>();
  for (const name of names) {
    await admin.sendMessage(roomId, `!hooks inbound add "${name}"`);
    await botNotice(admin, roomId, bridge.botUserId, new RegExp(`Inbound hook "${name}" added`));
    urls.set(name, await secretFromDm(admin, bridge.botUserId, `URL of inbound hook "${name}"`, dm));
  }
  return { admin, roomId, urls };
}
