// Who may bring the bot into a room: permissions.invite, on a real Synapse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let allowed: TestClient;
let stranger: TestClient;

beforeAll(async () => {
  allowed = (await registerUser(uniqueName("trusted"))).client;
  stranger = (await registerUser(uniqueName("stranger"))).client;
  bridge = await startBridge({ permissions: { invite: [allowed.userId] } });
});

afterAll(async () => {
  await bridge?.stop();
});

describe("permissions.invite", () => {
  it("joins when an allowed user invites it", async () => {
    const roomId = await allowed.createRoom();
    await allowed.invite(roomId, bridge.botUserId);
    await allowed.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === bridge.botUserId && e.content.membership === "join", { timeoutMs: 15_000 });
  });

  it("declines an invite from anyone else, saying why", async () => {
    const roomId = await stranger.createRoom();
    await stranger.invite(roomId, bridge.botUserId);
    const leave = await stranger.waitForEvent(roomId, (e) => e.type === "m.room.member" && e.state_key === bridge.botUserId && e.content.membership === "leave", { timeoutMs: 15_000 });
    expect(leave.content.reason).toMatch(/is not allowed to invite this bridge/);
  });
});
