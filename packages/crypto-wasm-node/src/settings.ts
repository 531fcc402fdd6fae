import * as wasm from "@matrix-org/matrix-sdk-crypto-wasm";

// The native binding's `const enum`s, as values (callers compiled against its types inline the numbers).
export const EncryptionAlgorithm = { OlmV1Curve25519AesSha2: 0, MegolmV1AesSha2: 1 } as const;
export type EncryptionAlgorithm = (typeof EncryptionAlgorithm)[keyof typeof EncryptionAlgorithm];
export const HistoryVisibility = { Invited: 0, Joined: 1, Shared: 2, WorldReadable: 3 } as const;
export type HistoryVisibility = (typeof HistoryVisibility)[keyof typeof HistoryVisibility];
/** Where the state is kept: the native binding's SQLite; here always a disk-backed IndexedDB (store.ts). */
export const StoreType = { Sqlite: 0 } as const;
export type StoreType = (typeof StoreType)[keyof typeof StoreType];
export const RequestType = { KeysUpload: 0, KeysQuery: 1, KeysClaim: 2, ToDevice: 3, SignatureUpload: 4, RoomMessage: 5, KeysBackup: 6 } as const;
export type RequestType = (typeof RequestType)[keyof typeof RequestType];

/** How a room's keys are shared and rotated (the native binding's fields and defaults). */
export class EncryptionSettings {
  algorithm: EncryptionAlgorithm | undefined = EncryptionAlgorithm.MegolmV1AesSha2;
  /** Microseconds (as the Rust core counts). */
  rotationPeriod = 604_800_000_000n;
  rotationPeriodMessages = 100n;
  historyVisibility: HistoryVisibility = HistoryVisibility.Shared;

  toWasm(): wasm.EncryptionSettings {
    const settings = new wasm.EncryptionSettings();
    // A room event is always Megolm: the bot SDK leaves the algorithm undefined for other
    // rooms' settings, which the WebAssembly build would read as 0, i.e. Olm.
    settings.algorithm = wasm.EncryptionAlgorithm.MegolmV1AesSha2;
    settings.rotationPeriod = this.rotationPeriod;
    settings.rotationPeriodMessages = this.rotationPeriodMessages;
    settings.historyVisibility = this.historyVisibility as number as wasm.HistoryVisibility;
    return settings;
  }
}
