// Hooks refused when configured (URL not allowed, sender without enough power) that a later start
// accepts, because the config now allows them: the room is told, and the secret DMed as for a new hook.
import { afterAll, describe, expect, it } from "vitest";
import { INBOUND_HOOK_EVENT_TYPE } from "../src/connections/inbound-hook-state.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { forEvent, Receiver } from "./harness/receiver.js";
import { botNotice, roomWithBot, secretFromDm, tokenFromDm } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest | undefined;
let receiver: Receiver | undefined;

afterAll(async () => {
  await bridge?.stop();
  await receiver?.stop();
});

describe("a hook refused when configured and accepted at a later start", () => {
  it("is announced in the room as now active, with its token or URL sent by direct message; hooks active before are not announced again", async () => {
    receiver = await Receiver.start();
    // First run: loopback not allow-listed, and only power level 100 may configure hooks.
    bridge = await startBridge({ delivery: { allowedNetworks: [] }, permissions: { commandPowerLevel: 100 } });
    const storePath = bridge.storePath;
    const bot = bridge.botUserId;
    const admin = await registerUser(uniqueName("admin"));
    const member = await registerUser(uniqueName("member"));
    const roomId = await roomWithBot(admin.client, bot, { invite: [member.userId], powerLevels: { users: { [bot]: 50, [member.userId]: 50 } } });
    await member.client.join(roomId);

    await admin.client.sendStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "steady", { name: "steady" });
    await botNotice(admin.client, roomId, bot, /Inbound hook "steady" active/);
    await admin.client.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "late", { name: "late", url: `${receiver.url}/late` });
    await botNotice(admin.client, roomId, bot, /Ignored outbound hook "late": /);
    await member.client.sendStateEvent(roomId, INBOUND_HOOK_EVENT_TYPE, "late-in", { name: "late-in" });
    await botNotice(admin.client, roomId, bot, /Ignored inbound hook "late-in" set by .*needs power level 100 \(they have 50\)/);
    await bridge.stop();
    bridge = undefined;

    // Second run with the harness's defaults: loopback allowed, power level 50 suffices.
    bridge = await startBridge({}, storePath);
    const outboundNotice = await botNotice(admin.client, roomId, bot, /Outbound hook "late" is now active \(this bridge had not accepted it before\)/);
    expect(String(outboundNotice.content.body)).toContain(`Its token was sent to ${admin.userId} in a direct message`);
    const token = await tokenFromDm(admin.client, bot, "late");
    const eventId = await member.client.sendMessage(roomId, "for the late hook");
    const [delivery] = await receiver.waitFor(forEvent(eventId));
    expect(delivery!.headers["x-matrix-hookshot-token"]).toBe(token);

    const inboundNotice = await botNotice(admin.client, roomId, bot, /Inbound hook "late-in" is now active \(this bridge had not accepted it before\)/);
    expect(String(inboundNotice.content.body)).toContain(`Its URL was sent to ${member.userId} in a direct message`);
    const url = await secretFromDm(member.client, bot, 'URL of inbound hook "late-in"');
    const posted = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "late but here" }) });
    expect(posted.status).toBe(200);

    // The hook that was active all along is not announced again.
    const notices = (await admin.client.messages(roomId)).chunk.filter((e) => e.sender === bot && /is now active/.test(String(e.content.body)));
    expect(notices.map((e) => String(e.content.body).split(" is now")[0])).toEqual(expect.arrayContaining(['Outbound hook "late"', 'Inbound hook "late-in"']));
    expect(notices.some((e) => String(e.content.body).includes('"steady"'))).toBe(false);
  }, 120_000);
});
