import { MatrixClient, RustSdkCryptoStorageProvider, type ICryptoRoomInformation } from "@vector-im/matrix-bot-sdk";
import type { CryptoDevicesTable, CryptoRoomsTable } from "../../store/crypto-tables.js";

/**
 * A bridge user's client acting as one device. The bot SDK masquerades a device with
 * `org.matrix.msc3202.device_id`, which Synapse stopped reading in 1.161; the stable parameter is
 * `device_id` (MSC4190 era). Every request carries the user and the device.
 */
export class DeviceClient extends MatrixClient {
  // Not `userId`: the base class caches whoami's answer under that name.
  constructor(homeserverUrl: string, asToken: string, readonly actsAs: string, readonly deviceId: string, cryptoStore: RustSdkCryptoStorageProvider) {
    super(homeserverUrl, asToken, undefined, cryptoStore);
  }

  override doRequest(method: string, endpoint: string, qs: Record<string, unknown> | null = null, ...rest: unknown[]): Promise<any> {
    const query = { ...(qs ?? {}), user_id: this.actsAs, device_id: this.deviceId };
    return (super.doRequest as (...args: unknown[]) => Promise<unknown>).call(this, method, endpoint, query, ...rest);
  }
}

/**
 * The bot SDK's crypto storage (it insists on this class), with the device id and room settings
 * in the bridge's own store: the SDK keeps them in a JSON file written in place, which a kill in
 * mid-write would leave unreadable. Only the Olm machine's files are under `storagePath`.
 */
export class BridgeCryptoStorage extends RustSdkCryptoStorageProvider {
  constructor(storagePath: string, storeType: number, private readonly userId: string, private readonly devices: CryptoDevicesTable, private readonly rooms: CryptoRoomsTable) {
    super(storagePath, storeType as never);
  }

  override async getDeviceId(): Promise<string> {
    return this.devices.get(this.userId) as string;
  }

  override async setDeviceId(deviceId: string): Promise<void> {
    this.devices.set(this.userId, deviceId);
  }

  override async getRoom(roomId: string): Promise<ICryptoRoomInformation> {
    return this.rooms.get(roomId) as ICryptoRoomInformation;
  }

  override async storeRoom(roomId: string, config: ICryptoRoomInformation): Promise<void> {
    this.rooms.set(roomId, config as unknown as Record<string, unknown>);
  }
}
