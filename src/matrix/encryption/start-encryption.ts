import type { BridgeConfig } from "../../config/types.js";
import type { Logger } from "../../observability/logger.js";
import type { BridgeMetrics } from "../../observability/metrics.js";
import { EncryptedEvents } from "../../router/encrypted-events.js";
import type { RouterEncryption } from "../../router/event-router.js";
import type { Db } from "../../store/database.js";
import { CryptoDevicesTable, CryptoRoomsTable, UndecryptedEventsTable } from "../../store/crypto-tables.js";
import type { AppserviceMatrix } from "../appservice-matrix.js";
import type { RoomEvent } from "../port.js";
import { missingEncryptionKeys, type LoadedRegistration } from "../registration.js";
import { EncryptedDevices } from "./encrypted-devices.js";

export interface Encryption {
  devices: EncryptedDevices;
  events: EncryptedEvents;
  router: RouterEncryption;
}

/** Throws, naming them, when the registration lacks what encryption needs (checked before anything starts). */
export function checkEncryptionRegistration(registration: LoadedRegistration): void {
  const missing = missingEncryptionKeys(registration.raw as unknown as Record<string, unknown>);
  if (missing.length > 0) {
    throw new Error(`encryption.enabled needs the registration file to have ${missing.join(", ")} (generate it with --encryption, or add them, and restart the homeserver; docs/encryption.md)`);
  }
}

/**
 * Turns end-to-end encryption on (encryption.enabled): checks the registration, opens the bot's
 * device (made on first start), and from then on the bot sends as that device.
 */
export async function startEncryption(opts: {
  config: BridgeConfig;
  registration: LoadedRegistration;
  matrix: AppserviceMatrix;
  db: Db;
  metrics: BridgeMetrics;
  log: Logger;
  route: (txnId: string, events: RoomEvent[]) => Promise<void>;
}): Promise<Encryption> {
  const { config, registration, matrix, db, metrics, log } = opts;
  checkEncryptionRegistration(registration);
  let events: EncryptedEvents | null = null;
  const devices = await EncryptedDevices.start({
    homeserverUrl: config.homeserver.url,
    asToken: registration.asToken,
    botUserId: matrix.botUserId,
    storagePath: config.encryption.storagePath,
    storeKey: config.store.encryptionKeyBytes,
    deviceDisplayName: config.bot.displayName ?? "Webhook bridge",
    devices: new CryptoDevicesTable(db),
    rooms: new CryptoRoomsTable(db),
    log,
    onRoomKey: (_roomId, sessionId) => events?.keyArrived(sessionId),
  });
  await matrix.useEncryption(devices);
  events = new EncryptedEvents({
    devices,
    table: new UndecryptedEventsTable(db),
    notice: (roomId, text) => matrix.sendNotice(roomId, text),
    route: opts.route,
    isBridgeUser: (userId) => matrix.isBridgeUser(userId),
    metrics,
    log,
  });
  const decrypting = events;
  return {
    devices,
    events,
    router: {
      decryptTransaction: (received, crypto) => decrypting.decryptTransaction(received, crypto),
      joined: (roomId) => devices.joined(roomId),
    },
  };
}
