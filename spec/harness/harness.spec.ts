// Smoke test of the harness itself: real Synapse, two users, messages, state, media.
import { describe, expect, inject, it } from "vitest";
import { loadRegistration } from "../../src/matrix/registration.js";
import { registerUser, uniqueName } from "./users.js";

describe("e2e harness", () => {
  it("provides a running Synapse and the bridge registration", async () => {
    const s = inject("synapse");
    const res = await fetch(`${s.url}/_matrix/client/versions`);
    expect(res.ok).toBe(true);
    const reg = await loadRegistration(s.registrationPath);
    expect(reg.url).toBe(`http://127.0.0.1:${s.bridgePort}`);
  });

  it("lets two users talk in a room", async () => {
    const alice = await registerUser(uniqueName("alice"));
    const bob = await registerUser(uniqueName("bob"));
    const roomId = await alice.client.createRoom({ name: "harness", invite: [bob.userId] });

    const invitedRoom = await bob.client.waitForInvite((id) => id === roomId, 10_000);
    expect(invitedRoom).toBe(roomId);
    await bob.client.join(roomId);
    expect(Object.keys(await alice.client.getJoinedMembers(roomId)).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(await bob.client.joinedRooms()).toContain(roomId);

    const eventId = await alice.client.sendMessage(roomId, "hello bob");
    const seen = await bob.client.waitForEvent(roomId, (e) => e.event_id === eventId, { timeoutMs: 10_000 });
    expect(seen.sender).toBe(alice.userId);
    expect(seen.content).toMatchObject({ msgtype: "m.text", body: "hello bob" });
  });

  it("sets and reads state, power levels and media", async () => {
    const carol = await registerUser(uniqueName("carol"));
    const dave = await registerUser(uniqueName("dave"));
    const roomId = await carol.client.createRoom();

    const type = "uk.half-shot.matrix-hookshot.outbound-hook";
    expect(await carol.client.getStateEvent(roomId, type, "ci")).toBeNull();
    await carol.client.sendStateEvent(roomId, type, "ci", { name: "ci", url: "http://127.0.0.1:1/hook" });
    expect(await carol.client.getStateEvent(roomId, type, "ci")).toEqual({ name: "ci", url: "http://127.0.0.1:1/hook" });

    await carol.client.setPowerLevel(roomId, dave.userId, 50);
    expect((await carol.client.getPowerLevels(roomId)).users?.[dave.userId]).toBe(50);

    const mxc = await carol.client.uploadMedia(new TextEncoder().encode("hello media"), "text/plain", "hello.txt");
    expect(mxc).toMatch(/^mxc:\/\/localhost\/[A-Za-z0-9_-]+$/);
  });

  it("reports HTTP status and errcode on failure", async () => {
    const erin = await registerUser(uniqueName("erin"));
    await expect(erin.client.join("!doesnotexist:localhost")).rejects.toThrow(/→ (403|404) M_/);
    await expect(
      erin.client.waitForEvent((await erin.client.createRoom()), () => false, { timeoutMs: 300 }),
    ).rejects.toThrow(/no matching event .* m\.room\.create/s);
  });
});
