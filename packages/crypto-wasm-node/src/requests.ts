import type * as wasm from "@matrix-org/matrix-sdk-crypto-wasm";
import { RequestType } from "./settings.js";

/** A request for the homeserver, with the native binding's field names. */
export interface OutgoingRequest {
  readonly id: string;
  readonly type: RequestType;
  /** The request's JSON body. */
  readonly body: string;
}

export interface ToDeviceRequest extends OutgoingRequest {
  readonly type: typeof RequestType.ToDevice;
  readonly eventType: string;
  readonly txnId: string;
}

export interface KeysBackupRequest extends OutgoingRequest {
  readonly type: typeof RequestType.KeysBackup;
  readonly version: string;
}

type WasmRequest = wasm.KeysUploadRequest | wasm.KeysQueryRequest | wasm.KeysClaimRequest | wasm.ToDeviceRequest | wasm.SignatureUploadRequest
  | wasm.RoomMessageRequest | wasm.KeysBackupRequest;

/**
 * A WebAssembly request as a plain value: to-device requests name their fields `event_type` and
 * `txn_id` there, `eventType` and `txnId` in the native binding (what the bot SDK reads).
 */
export function nativeRequest(request: WasmRequest): OutgoingRequest {
  const base: OutgoingRequest = { id: String(request.id ?? ""), type: request.type as number as RequestType, body: request.body };
  if ("txn_id" in request && base.type === RequestType.ToDevice) {
    const toDevice: ToDeviceRequest = { ...base, type: RequestType.ToDevice, eventType: request.event_type, txnId: request.txn_id };
    return toDevice;
  }
  if ("version" in request && base.type === RequestType.KeysBackup) {
    const backup: KeysBackupRequest = { ...base, type: RequestType.KeysBackup, version: String(request.version) };
    return backup;
  }
  return base;
}
