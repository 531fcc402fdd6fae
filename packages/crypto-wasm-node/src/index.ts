/**
 * A stand-in for `@matrix-org/matrix-sdk-crypto-nodejs` (whose install downloads a native
 * library from outside the npm registry): the part of its API that the Matrix bot SDK uses, on
 * `@matrix-org/matrix-sdk-crypto-wasm`, the WebAssembly build of the same Rust crypto core,
 * with its state on disk (store.ts).
 */
export { Attachment, EncryptedAttachment } from "./attachment.js";
export { DeviceId, DeviceLists, RoomId, UserId } from "./ids.js";
export { initCrypto, OlmMachine, Signatures, type DecryptedRoomEvent, type MaybeSignature } from "./olm-machine.js";
export type { KeysBackupRequest, OutgoingRequest, ToDeviceRequest } from "./requests.js";
export { EncryptionAlgorithm, EncryptionSettings, HistoryVisibility, RequestType, StoreType } from "./settings.js";
export { configureCryptoStore, cryptoStoreExists } from "./store.js";
