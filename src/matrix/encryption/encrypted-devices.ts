import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { configureCryptoStore, cryptoStoreExists, StoreType } from "@matrix-org/matrix-sdk-crypto-nodejs";
import { EncryptedRoomEvent } from "@vector-im/matrix-bot-sdk";
import type { Logger } from "../../observability/logger.js";
import type { CryptoDevicesTable, CryptoRoomsTable } from "../../store/crypto-tables.js";
import type { RoomEvent } from "../port.js";
import { BridgeCryptoStorage, DeviceClient } from "./device-client.js";
import { forDevice, type TransactionCrypto } from "./transaction-crypto.js";

export interface EncryptedDevicesOptions {
  homeserverUrl: string;
  asToken: string;
  botUserId: string;
  /** Where the Olm machines' files go (made with mode 700). */
  storagePath: string;
  /** The store key: the crypto store's passphrase is derived from it. */
  storeKey: Buffer;
  deviceDisplayName: string;
  devices: CryptoDevicesTable;
  rooms: CryptoRoomsTable;
  log: Logger;
  /** A room key arrived for this room and session (events waiting for it can be decrypted now). */
  onRoomKey?: (roomId: string, sessionId: string) => void;
}

/** A new device id: what clients show in the device list, so it says whose it is. */
const newDeviceId = (): string => `WEBHOOKS${randomBytes(5).toString("hex").toUpperCase()}`;

/** The passphrase of the crypto stores: from the store key, so the admin keeps one secret, not two. */
export function cryptoStorePassphrase(storeKey: Buffer): string {
  return Buffer.from(hkdfSync("sha256", storeKey, "matrix-webhook-bridge", "crypto-store passphrase", 32)).toString("base64");
}

/** The core's reason: a MegolmDecryptionError (not an Error) has a code and a description. */
function decryptionFailure(err: unknown): string {
  const e = err as { code?: unknown; description?: unknown; message?: unknown; maybe_withheld?: unknown } | null;
  const text = typeof e?.description === "string" ? e.description : typeof e?.message === "string" ? e.message : String(err);
  const code = typeof e?.code === "string" || typeof e?.code === "number" ? `${String(e.code)}: ` : "";
  const withheld = typeof e?.maybe_withheld === "string" ? ` (withheld: ${e.maybe_withheld})` : "";
  return `${code}${text}${withheld}`;
}

/** An event that could not be decrypted, with the session whose key it needs. */
export class UndecryptableEvent extends Error {
  constructor(readonly sessionId: string, readonly reason: string) {
    super(reason);
  }
}

/**
 * One device per bridge user that needs one (the bot from the start, an inbound hook's user when
 * it first posts into an encrypted room), with its keys in the crypto store. Devices are made
 * with MSC4190 (`PUT /devices`), since appservice users cannot log in; each is fed its share of
 * every transaction's to-device events and key counts.
 */
export class EncryptedDevices {
  private readonly clients = new Map<string, Promise<DeviceClient>>();

  private constructor(private readonly opts: EncryptedDevicesOptions) {}

  static async start(opts: EncryptedDevicesOptions): Promise<EncryptedDevices> {
    configureCryptoStore({ passphrase: cryptoStorePassphrase(opts.storeKey), directory: opts.storagePath });
    const devices = new EncryptedDevices(opts);
    const bot = await devices.client(opts.botUserId);
    opts.log.info({ deviceId: bot.deviceId, ed25519: bot.crypto.clientDeviceEd25519 }, "end-to-end encryption ready: the bot's device");
    return devices;
  }

  get bot(): Promise<DeviceClient> {
    return this.client(this.opts.botUserId);
  }

  /** The user's device client, made (or reopened from the store) on first use. */
  client(userId: string): Promise<DeviceClient> {
    let client = this.clients.get(userId);
    if (!client) {
      client = this.open(userId);
      this.clients.set(userId, client);
      client.catch(() => this.clients.delete(userId));
    }
    return client;
  }

  private async open(userId: string): Promise<DeviceClient> {
    const { devices, homeserverUrl, asToken, log } = this.opts;
    const storage = new BridgeCryptoStorage(this.userStoragePath(userId), StoreType.Sqlite, userId, devices, this.opts.rooms);
    let deviceId = devices.get(userId);
    if (deviceId !== null) {
      const stored = await cryptoStoreExists(await storage.getMachineStoragePath(deviceId));
      const known = await this.deviceExists(userId, deviceId);
      // Neither: the last start stopped between choosing the id and making the device; made now.
      if (!stored && !known) await this.makeDevice(userId, deviceId);
      // Made, but stopped before its keys were: nothing to clash with, so it is used.
      else if (!stored && !(await this.hasKeys(userId, deviceId))) log.info({ userId, deviceId }, "the device was made but got no keys before the last stop; using it");
      else if (stored !== known) {
        // Its keys are gone (storagePath moved or wiped), or the homeserver lost the device: its
        // keys and the server's would differ, so it cannot be used again.
        const reason = stored ? "the homeserver no longer has it" : "its crypto state is not in encryption.storagePath";
        log.warn({ userId, deviceId, reason }, "cannot use the device made before; making a new one (what was encrypted for the old one cannot be read)");
        deviceId = null;
      }
    }
    if (deviceId === null) {
      // Kept before the device is made: a crash in between reuses the id rather than leaving a device behind.
      deviceId = newDeviceId();
      devices.set(userId, deviceId);
      await this.makeDevice(userId, deviceId);
    }
    const client = new DeviceClient(homeserverUrl, asToken, userId, deviceId, storage);
    client.on("to_device.decrypted", (message: { type?: unknown; content?: { room_id?: unknown; session_id?: unknown } }) => {
      if ((message.type === "m.room_key" || message.type === "m.forwarded_room_key") && typeof message.content?.room_id === "string" && typeof message.content.session_id === "string") {
        this.opts.onRoomKey?.(message.content.room_id, message.content.session_id);
      }
    });
    await client.crypto.prepare();
    log.debug({ userId, deviceId }, "device ready");
    return client;
  }

  /** The user's store directory, as the bot SDK's appservice layout names it. */
  private userStoragePath(userId: string): string {
    return join(this.opts.storagePath, createHash("sha256").update(userId).digest("hex"));
  }

  /** A client-server request as the appservice acting as `userId` (its own user_id parameter added); its status and text. */
  private async asUser(userId: string, method: string, path: string, body?: unknown): Promise<{ ok: boolean; status: number; text: string }> {
    const res = await fetch(`${this.opts.homeserverUrl}/_matrix/client/v3${path}${path.includes("?") ? "&" : "?"}user_id=${encodeURIComponent(userId)}`, {
      method,
      headers: { authorization: `Bearer ${this.opts.asToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    return { ok: res.ok, status: res.status, text: await res.text() };
  }

  /** Whether the homeserver has the device (a 404 says no; any other failure is thrown). */
  private async deviceExists(userId: string, deviceId: string): Promise<boolean> {
    const res = await this.asUser(userId, "GET", `/devices/${encodeURIComponent(deviceId)}`);
    if (res.ok) return true;
    if (res.status === 404) return false;
    throw new Error(`could not look up device ${deviceId} of ${userId}: ${res.status} ${res.text.slice(0, 300)}`);
  }

  /** Whether the homeserver has identity keys for the device (as anyone sees them: /keys/query). */
  private async hasKeys(userId: string, deviceId: string): Promise<boolean> {
    const { ok, status, text } = await this.asUser(this.opts.botUserId, "POST", "/keys/query", { device_keys: { [userId]: [deviceId] } });
    if (!ok) throw new Error(`could not look up the keys of device ${deviceId} of ${userId}: ${status} ${text.slice(0, 300)}`);
    const keys = (JSON.parse(text) as { device_keys?: Record<string, Record<string, unknown>> }).device_keys;
    return keys !== undefined && Object.hasOwn(keys, userId) && Object.hasOwn(keys[userId] ?? {}, deviceId);
  }

  /**
   * Makes the device with MSC4190. Only for a new one: a PUT on an existing device is an update,
   * which the homeserver announces to everyone sharing a room with the user (their clients query
   * its keys again, and one that was encrypting meanwhile shared its room key with nobody).
   */
  private async makeDevice(userId: string, deviceId: string): Promise<void> {
    const res = await this.asUser(userId, "PUT", `/devices/${encodeURIComponent(deviceId)}`, { display_name: this.opts.deviceDisplayName });
    if (res.ok) return;
    let body: { errcode?: string; error?: string } = {};
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      // not JSON: a proxy's page; the status says enough
    }
    const hint = res.status === 404 || body.errcode === "M_UNRECOGNIZED" || body.errcode === "M_NOT_FOUND"
      ? " (the registration needs `io.element.msc4190: true`, and the homeserver must support MSC4190: Synapse 1.125 or later)"
      : "";
    throw new Error(`could not create device ${deviceId} for ${userId}: ${res.status} ${body.errcode ?? ""} ${body.error ?? ""}${hint}`.replace(/ +/g, " "));
  }

  /** Whether a device was ever made for the user (its to-device events must reach it). */
  private hasDevice(userId: string): boolean {
    return this.clients.has(userId) || (this.opts.devices.get(userId) !== null && existsSync(this.userStoragePath(userId)));
  }

  /** Feeds a transaction's encryption fields to each device they concern. */
  async receive(data: TransactionCrypto): Promise<void> {
    if (data.problems.length > 0) this.opts.log.warn({ problems: data.problems.slice(0, 10) }, "left out malformed encryption fields of a transaction");
    const users = new Set<string>(data.toDevice.map((m) => m.to_user_id));
    for (const userId of data.oneTimeKeyCounts.keys()) users.add(userId);
    for (const userId of users) if (!this.clients.has(userId) && this.hasDevice(userId)) void this.client(userId).catch(() => undefined);
    for (const [userId, pending] of this.clients) {
      const client = await pending.catch(() => null);
      if (!client) continue;
      const mine = forDevice(data, userId, client.deviceId);
      if (mine.toDevice.length === 0 && mine.counts === undefined && mine.fallbackTypes === undefined && data.changedDevices.length === 0 && data.leftDevices.length === 0) continue;
      this.opts.log.debug({ userId, toDevice: mine.toDevice.map((m) => m.type), counts: mine.counts, changed: data.changedDevices.length }, "encryption fields of a transaction for a device");
      try {
        await client.crypto.updateSyncData(mine.toDevice as never, (mine.counts ?? {}) as never, (mine.fallbackTypes ?? []) as never, data.changedDevices, data.leftDevices);
      } catch (err) {
        // The events were handed to the machine first; what failed is sending its requests (a key
        // upload, query or claim), which the next transaction retries. The transaction goes on:
        // failing it would hold every room's events back behind one device's trouble.
        this.opts.log.warn({ err, userId, deviceId: client.deviceId }, "a device's key requests failed; they are tried again with the next transaction");
      }
    }
  }

  /** The cleartext of an encrypted room event (the bot's device holds the room keys). */
  async decrypt(event: RoomEvent): Promise<RoomEvent> {
    const bot = await this.bot;
    const sessionId = typeof event.content.session_id === "string" ? event.content.session_id : "";
    try {
      const clear = await bot.crypto.decryptRoomEvent(new EncryptedRoomEvent(event), event.room_id);
      return { ...event, type: clear.type, content: clear.content as Record<string, unknown> };
    } catch (err) {
      throw new UndecryptableEvent(sessionId, decryptionFailure(err));
    }
  }

  /**
   * Room state the devices need: encryption settings and history visibility are kept from the
   * event itself (every device reads them from one table; Matrix never turns encryption off, so
   * a kept algorithm is never dropped), and who joined is told to the bot's device, which tracks
   * their devices. Each device asks for the members itself when it encrypts.
   */
  async observe(event: RoomEvent): Promise<void> {
    if (event.state_key !== "") {
      // Only members of rooms known to be encrypted: anyone else's devices would be queried for
      // nothing (a room turning encryption on has its members tracked then).
      if (event.type === "m.room.member" && event.state_key !== undefined && typeof this.opts.rooms.get(event.room_id)?.algorithm === "string") {
        await (await this.bot).crypto.onRoomEvent(event.room_id, event);
      }
      return;
    }
    const { rooms } = this.opts;
    const kept = rooms.get(event.room_id);
    if (event.type === "m.room.encryption" && typeof event.content.algorithm === "string") {
      rooms.set(event.room_id, { ...kept, ...event.content });
      await (await this.bot).crypto.onRoomEvent(event.room_id, event); // tracks the members' devices
    } else if (event.type === "m.room.history_visibility" && kept && typeof event.content.history_visibility === "string") {
      rooms.set(event.room_id, { ...kept, historyVisibility: event.content.history_visibility });
    }
  }

  /** The bot's device learns a room it joined (its members' devices are tracked if it is encrypted). */
  async joined(roomId: string): Promise<void> {
    const bot = await this.bot;
    await bot.crypto.onRoomJoin(roomId);
  }

  /**
   * Whether the room is encrypted: from the settings kept, else read from the room as the bot (or
   * as `asUser`, where the bot is not in the room: a webhook bot's DM) and kept. Throws when it
   * cannot be read, so that a message fails rather than going out in the clear. The bot SDK reads
   * the same table when it decides whether to encrypt.
   */
  async isEncrypted(roomId: string, asUser?: string): Promise<boolean> {
    const kept = this.opts.rooms.get(roomId);
    if (kept) return typeof kept.algorithm === "string";
    let read = await this.readSettings(roomId, this.opts.botUserId);
    if (read === "forbidden" && asUser !== undefined && asUser !== this.opts.botUserId) read = await this.readSettings(roomId, asUser);
    if (read === "forbidden") throw new Error(`cannot tell whether room ${roomId} is encrypted: its state is not visible to the bridge`);
    this.opts.rooms.set(roomId, read);
    return typeof read.algorithm === "string";
  }

  /** The room's m.room.encryption content and history visibility, read as the user ({} when unencrypted). */
  private async readSettings(roomId: string, userId: string): Promise<Record<string, unknown> | "forbidden"> {
    const state = async (type: string): Promise<Record<string, unknown> | null | "forbidden"> => {
      const res = await this.asUser(userId, "GET", `/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/`);
      const text = res.text;
      if (res.status === 404) return null;
      if (res.status === 403) return "forbidden";
      if (!res.ok) throw new Error(`cannot read ${type} of room ${roomId}: ${res.status} ${text.slice(0, 200)}`);
      const body: unknown = JSON.parse(text);
      return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    };
    const encryption = await state("m.room.encryption");
    if (encryption === "forbidden") return "forbidden";
    if (encryption === null || typeof encryption.algorithm !== "string") return {};
    const visibility = await state("m.room.history_visibility");
    const historyVisibility = visibility !== "forbidden" && typeof visibility?.history_visibility === "string" ? visibility.history_visibility : undefined;
    return { ...encryption, ...(historyVisibility ? { historyVisibility } : {}) };
  }

  /** Closes every device's machine and store. */
  async stop(): Promise<void> {
    const clients = await Promise.all([...this.clients.values()].map((c) => c.catch(() => null)));
    this.clients.clear();
    for (const client of clients) {
      client?.stop();
      // The bot SDK keeps the machine on its engine and has no close of its own.
      (client?.crypto as unknown as { engine?: { machine?: { close?: () => void } } } | undefined)?.engine?.machine?.close?.();
    }
  }
}
