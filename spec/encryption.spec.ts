// End-to-end encryption on a real Synapse, with a real client doing real encryption (matrix-js-sdk
// and its Rust crypto): the bridge's device on the WebAssembly crypto engine decrypts for the
// hooks and encrypts the bot's and inbound hooks' messages.
import { createDecipheriv, createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { encryptAttachment } from "./harness/encrypted-attachment.js";
import { encryptingClient, type EncryptingClient } from "./harness/encrypting-client.js";
import { forEvent, Receiver } from "./harness/receiver.js";
import { secretFromDm } from "./harness/rooms.js";
import { bridgeDeviceId, deviceKeys as publishedDeviceKeys, escapeRegex, hsTransaction as sendTransaction, metric as readMetric, notice } from "./harness/encrypted-room.js";
import { HeldKeyDevice } from "./harness/held-key-device.js";
import { registerUser, uniqueName } from "./harness/users.js";

let bridge: BridgeUnderTest;
let receiver: Receiver;
let alice: EncryptingClient;
let roomId: string;
/** The inbound hook "Alerts": its URL and its user. */
let inboundUrl: string;
let inboundUser: string;
const cryptoDir = mkdtempSync(join(tmpdir(), "mwb-crypto-"));
const settings = { encryption: { enabled: true, storagePath: cryptoDir } };

const escape = escapeRegex;
const hsTransaction = (body: Record<string, unknown>) => sendTransaction(bridge.url, bridge.hsToken, body);
const metric = (series: string) => readMetric(bridge.url, series);
const deviceKeys = (userId: string) => publishedDeviceKeys(alice.client, userId);

/** How many of the bot's notices in the room (decrypted) name this event. */
async function botNoticesMentioning(eventId: string): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_500));
  const events = alice.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  let n = 0;
  for (const e of events) {
    if (e.getSender() !== bridge.botUserId) continue;
    await alice.client.decryptEventIfNeeded(e);
    if (String(e.getContent().body).includes(eventId)) n++;
  }
  return n;
}

beforeAll(async () => {
  bridge = await startBridge(settings);
  receiver = await Receiver.start();
  alice = await encryptingClient(uniqueName("alice"));
  roomId = await alice.createEncryptedRoom([bridge.botUserId]);
  // The bot's greeting is its first message in the room: encrypted, and the client decrypts it.
  await alice.waitForDecrypted(roomId, bridge.botUserId, notice(/I send this room's events to webhooks/), 30_000);
}, 120_000);

afterAll(async () => {
  await alice?.stop();
  await bridge?.stop();
  await receiver?.stop();
  rmSync(cryptoDir, { recursive: true, force: true });
});

describe("encrypted rooms, with encryption.enabled", () => {
  it("has uploaded the bot's device keys, and the bot stays in the encrypted room", async () => {
    const deviceId = bridgeDeviceId(bridge.storePath, bridge.botUserId);
    expect(deviceId).toMatch(/^WEBHOOKS[0-9A-F]{10}$/);
    const devices = await deviceKeys(bridge.botUserId);
    expect(devices[deviceId]!.keys[`ed25519:${deviceId}`]).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(devices[deviceId]!.keys[`curve25519:${deviceId}`]).toMatch(/^[A-Za-z0-9+/]{43}$/);
    const members = await alice.client.getJoinedRoomMembers(roomId);
    expect(Object.keys(members.joined)).toContain(bridge.botUserId);
  });

  it("runs a command sent encrypted, and answers encrypted", async () => {
    await alice.send(roomId, { msgtype: "m.text", body: `!hooks outbound add ci ${receiver.url}/ci` });
    await alice.waitForDecrypted(roomId, bridge.botUserId, notice(/Outbound hook "ci" added/));
  });

  it("delivers a message sent encrypted to the hook decrypted", async () => {
    const eventId = await alice.send(roomId, { msgtype: "m.text", body: "the launch code is 0000" });
    const [req] = await receiver.waitFor(forEvent(eventId));
    const body = JSON.parse(req!.body.toString());
    expect(body).toMatchObject({ event_id: eventId, room_id: roomId, sender: alice.userId, type: "m.room.message", content: { msgtype: "m.text", body: "the launch code is 0000" } });
  });

  it("delivers an encrypted attachment in an encrypted message byte-identical", async () => {
    const plain = Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 7919) % 251));
    const { ciphertext, file } = encryptAttachment(plain);
    const { content_uri: mxc } = await alice.client.uploadContent(ciphertext, { type: "application/octet-stream", includeFilename: false });
    const eventId = await alice.send(roomId, { msgtype: "m.file", body: "secret.bin", filename: "secret.bin", file: file(mxc), info: { mimetype: "application/x-test", size: plain.length } });
    const [req] = await receiver.waitFor((r) => r.path === "/ci" && String(r.headers["content-type"]).startsWith("multipart/") && r.body.includes(eventId));
    const form = await new Response(req!.body, { headers: { "content-type": String(req!.headers["content-type"]) } }).formData();
    expect(Buffer.from(await (form.get("media") as File).arrayBuffer()).equals(plain)).toBe(true);
    const event = JSON.parse(await (form.get("event") as File).text());
    expect(event).toMatchObject({ event_id: eventId, type: "m.room.message", content: { msgtype: "m.file", body: "secret.bin" } });
  });

  it("posts an inbound hook's message encrypted, from the hook's own user", async () => {
    await alice.send(roomId, { msgtype: "m.text", body: '!hooks inbound add "Alerts"' });
    await alice.waitForDecrypted(roomId, bridge.botUserId, notice(/Inbound hook "Alerts" added/));
    const plainClient = new TestClient(inject("synapse").url, alice.userId, alice.accessToken);
    const url = await secretFromDm(plainClient, bridge.botUserId, 'URL of inbound hook "Alerts"');
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "disk almost full" }) });
    const answer = (await res.json()) as { event_id?: string };
    expect(res.status).toBe(200);
    const posted = await alice.client.fetchRoomEvent(roomId, answer.event_id!);
    expect(posted.type).toBe("m.room.encrypted");
    const ghost = posted.sender!;
    inboundUser = ghost;
    const clear = await alice.waitForDecrypted(roomId, ghost, (c) => c.body === "disk almost full");
    expect(clear.getId()).toBe(answer.event_id);
    inboundUrl = url;
  });

  it("uploads an inbound hook's file encrypted, and its message carries the key", async () => {
    const plain = Buffer.from("the build log, line after line\n".repeat(500));
    const form = new FormData();
    form.set("payload_json", JSON.stringify({ content: "log attached" }));
    form.set("files[0]", new Blob([plain], { type: "text/plain" }), "build.log");
    // The hook's Discord route (its URL + /discord) takes files.
    const res = await fetch(`${inboundUrl}/discord`, { method: "POST", body: form });
    expect(res.status, await res.text()).toBeLessThan(300);
    const message = await alice.waitForDecrypted(roomId, inboundUser, (c) => c.msgtype === "m.file" && c.body === "build.log");
    const content = message.getContent() as { url?: string; file?: { url: string; key: { k: string }; iv: string; hashes: { sha256: string } } };
    expect(content.url).toBeUndefined();
    expect(content.file?.url).toMatch(/^mxc:\/\//);
    // What the media repository holds is ciphertext; the message's key opens it.
    const download = await fetch(`${inject("synapse").url}/_matrix/client/v1/media/download/${content.file!.url.slice("mxc://".length)}`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
    expect(download.status).toBe(200);
    const stored = Buffer.from(await download.arrayBuffer());
    expect(stored.includes(plain.subarray(0, 20))).toBe(false);
    expect(createHash("sha256").update(stored).digest("base64").replace(/=+$/, "")).toBe(content.file!.hashes.sha256);
    const decipher = createDecipheriv("aes-256-ctr", Buffer.from(content.file!.key.k, "base64url"), Buffer.from(content.file!.iv, "base64"));
    expect(Buffer.concat([decipher.update(stored), decipher.final()]).equals(plain)).toBe(true);
  });

  it("keeps a message whose key is withheld, and says so once in the room", async () => {
    const crypto = alice.client.getCrypto()!;
    // Alice's client withholds the room key from the bridge's (unverified) device.
    crypto.globalBlacklistUnverifiedDevices = true;
    try {
      await crypto.forceDiscardSession(roomId);
      const first = await alice.send(roomId, { msgtype: "m.text", body: "sent while the key was withheld" });
      await alice.waitForDecrypted(roomId, bridge.botUserId, notice(new RegExp(`could not decrypt a message from ${escape(alice.userId)} \\(${escape(first)}\\)`)));
      const second = await alice.send(roomId, { msgtype: "m.text", body: "same session, still withheld" });
      // Kept too, and not told again (one notice per session).
      const notices = await botNoticesMentioning(second);
      expect(notices).toBe(0);
      expect(receiver.requests.some(forEvent(first)) || receiver.requests.some(forEvent(second))).toBe(false);
      expect(await metric('webhook_bridge_encrypted_events_total{result="waiting"}')).toBeGreaterThanOrEqual(2);
    } finally {
      crypto.globalBlacklistUnverifiedDevices = false;
      await crypto.forceDiscardSession(roomId);
    }
  });

  it("delivers a kept message once its key arrives in a later transaction", async () => {
    const { url } = inject("synapse");
    const carol = await registerUser(uniqueName("carol"));
    const device = await HeldKeyDevice.start(url, carol.accessToken);
    const { encrypted, heldKeys } = await device.encryptHoldingKey(roomId, bridge.botUserId, { msgtype: "m.text", body: "the key comes later" });
    expect(heldKeys.some((m) => m.to_user_id === bridge.botUserId)).toBe(true);
    const eventId = `$held-${Date.now()}`;
    const waitingBefore = await metric('webhook_bridge_encrypted_events_total{result="waiting"}');
    await hsTransaction({ events: [{ event_id: eventId, room_id: roomId, sender: carol.userId, type: "m.room.encrypted", content: encrypted, origin_server_ts: Date.now() }] });
    // Kept (the room was told of the last test's a moment ago: one notice per room per 5 minutes).
    expect(await metric('webhook_bridge_encrypted_events_total{result="waiting"}')).toBe(waitingBefore + 1);
    expect(receiver.requests.some(forEvent(eventId))).toBe(false);
    await hsTransaction({ events: [], "de.sorunome.msc2409.to_device": heldKeys });
    const [req] = await receiver.waitFor(forEvent(eventId), 1, 20_000);
    expect(JSON.parse(req!.body.toString())).toMatchObject({ event_id: eventId, sender: carol.userId, type: "m.room.message", content: { body: "the key comes later" } });
    expect(await metric('webhook_bridge_encrypted_events_total{result="decrypted-later"}')).toBe(1);
  });

  it("stays in a room that turns encryption on later, and decrypts from then on", async () => {
    const { room_id: later } = await alice.client.createRoom({ invite: [bridge.botUserId], power_level_content_override: { users: { [bridge.botUserId]: 50 } } });
    // Unencrypted so far; the bot joins.
    for (let i = 0; !Object.keys((await alice.client.getJoinedRoomMembers(later)).joined).includes(bridge.botUserId); i++) {
      if (i >= 150) throw new Error("the bot did not join");
      await new Promise((r) => setTimeout(r, 200));
    }
    await alice.client.sendStateEvent(later, "m.room.encryption" as never, { algorithm: "m.megolm.v1.aes-sha2" } as never, "");
    await alice.client.sendStateEvent(later, "uk.half-shot.matrix-hookshot.outbound-hook" as never, { name: "later", url: `${receiver.url}/later` } as never, "later");
    await alice.waitForDecrypted(later, bridge.botUserId, notice(/Outbound hook "later" active/));
    const eventId = await alice.send(later, { msgtype: "m.text", body: "encrypted since" });
    const [req] = await receiver.waitFor(forEvent(eventId));
    expect(JSON.parse(req!.body.toString()).content.body).toBe("encrypted since");
    const members = await alice.client.getJoinedRoomMembers(later);
    expect(Object.keys(members.joined)).toContain(bridge.botUserId);
  });

  it("keeps its device and keys across a restart; old sessions and a new room key decrypt", async () => {
    const deviceId = bridgeDeviceId(bridge.storePath, bridge.botUserId);
    const before = (await deviceKeys(bridge.botUserId))[deviceId];
    expect(before).toBeDefined();
    await bridge.stop();
    bridge = await startBridge(settings, bridge.storePath);
    expect(bridgeDeviceId(bridge.storePath, bridge.botUserId)).toBe(deviceId);
    expect((await deviceKeys(bridge.botUserId))[deviceId]).toEqual(before);
    // Same Megolm session as before the restart.
    const oldSession = await alice.send(roomId, { msgtype: "m.text", body: "after restart, old session" });
    await receiver.waitFor(forEvent(oldSession), 1, 30_000);
    // A new room key, sent over the Olm session made before the restart.
    await alice.client.getCrypto()!.forceDiscardSession(roomId);
    const newSession = await alice.send(roomId, { msgtype: "m.text", body: "after restart, new session" });
    const [req] = await receiver.waitFor(forEvent(newSession), 1, 30_000);
    expect(JSON.parse(req!.body.toString()).content.body).toBe("after restart, new session");
  });
});
