// A device whose room key can be held back: a real Olm device on the real Synapse (the same Rust
// core, through packages/crypto-wasm-node, kept in memory) that encrypts a message for the
// bridge's device and hands back the to-device event carrying its key instead of sending it.
// With it a test delivers the key after the message, as a slow homeserver or federation would.
import { DeviceId, EncryptionSettings, OlmMachine, RequestType, RoomId, UserId } from "@matrix-org/matrix-sdk-crypto-nodejs";
import type { ToDeviceMessage } from "../../src/matrix/encryption/transaction-crypto.js";

const PATHS: Partial<Record<RequestType, string>> = {
  [RequestType.KeysUpload]: "/_matrix/client/v3/keys/upload",
  [RequestType.KeysQuery]: "/_matrix/client/v3/keys/query",
  [RequestType.KeysClaim]: "/_matrix/client/v3/keys/claim",
};

export class HeldKeyDevice {
  private constructor(private readonly machine: OlmMachine, private readonly url: string, private readonly token: string, readonly userId: string, readonly deviceId: string) {}

  /** The device of a registered user's access token, with its keys uploaded. */
  static async start(url: string, accessToken: string): Promise<HeldKeyDevice> {
    const who = (await (await fetch(`${url}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as { user_id: string; device_id: string };
    const machine = await OlmMachine.initialize(new UserId(who.user_id), new DeviceId(who.device_id));
    const device = new HeldKeyDevice(machine, url, accessToken, who.user_id, who.device_id);
    await device.pump();
    return device;
  }

  /** Sends the machine's key requests to the homeserver until it has none (bounded). */
  private async pump(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const requests = (await this.machine.outgoingRequests()).filter((r) => PATHS[r.type] !== undefined);
      if (requests.length === 0) return;
      for (const request of requests) await this.send(request.id, request.type, request.body);
    }
    throw new Error("the device kept asking for more than 10 rounds");
  }

  /** Sends one request and hands the homeserver's answer to the machine; resolves with the answer. */
  private async send(id: string, type: RequestType, body: string): Promise<string> {
    const res = await fetch(`${this.url}${PATHS[type]}`, { method: "POST", headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" }, body });
    const text = await res.text();
    if (!res.ok) throw new Error(`${PATHS[type]}: ${res.status} ${text}`);
    await this.machine.markRequestAsSent(id, type, text);
    return text;
  }

  /**
   * The `m.room.encrypted` content of a message for `recipient`'s devices, and the to-device events
   * (as a transaction carries them) with its room key, which nobody has been sent.
   */
  async encryptHoldingKey(roomId: string, recipient: string, content: Record<string, unknown>, settings = new EncryptionSettings()): Promise<{ encrypted: Record<string, unknown>; heldKeys: ToDeviceMessage[]; claimed: { deviceId: string; keyId: string }[] }> {
    const users = [new UserId(recipient), new UserId(this.userId)];
    await this.machine.updateTrackedUsers(users);
    await this.pump();
    const claim = await this.machine.getMissingSessions(users);
    // The one-time keys the Olm sessions are made with (`signed_curve25519:AAAAAQ`), by device.
    const claimed: { deviceId: string; keyId: string }[] = [];
    if (claim) {
      const answer = JSON.parse(await this.send(claim.id, claim.type, claim.body)) as { one_time_keys?: Record<string, Record<string, Record<string, unknown>>> };
      for (const devices of Object.values(answer.one_time_keys ?? {})) {
        for (const [deviceId, keys] of Object.entries(devices)) for (const keyId of Object.keys(keys)) claimed.push({ deviceId, keyId });
      }
    }
    const heldKeys: ToDeviceMessage[] = [];
    for (const request of await this.machine.shareRoomKey(new RoomId(roomId), users, settings)) {
      const messages = (JSON.parse(request.body) as { messages: Record<string, Record<string, Record<string, unknown>>> }).messages;
      for (const [toUser, devices] of Object.entries(messages)) {
        for (const [toDevice, message] of Object.entries(devices)) heldKeys.push({ type: request.eventType, sender: this.userId, content: message, to_user_id: toUser, to_device_id: toDevice });
      }
      await this.machine.markRequestAsSent(request.id, request.type, "{}");
    }
    return { encrypted: await this.encrypt(roomId, content), heldKeys, claimed };
  }

  /** The next message in the room's session (shared by encryptHoldingKey first). */
  async encrypt(roomId: string, content: Record<string, unknown>): Promise<Record<string, unknown>> {
    return JSON.parse(await this.machine.encryptRoomEvent(new RoomId(roomId), "m.room.message", JSON.stringify(content))) as Record<string, unknown>;
  }
}
