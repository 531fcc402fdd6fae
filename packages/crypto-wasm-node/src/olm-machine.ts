import * as wasm from "@matrix-org/matrix-sdk-crypto-wasm";
import { DeviceId, type DeviceLists, type RoomId, UserId, wasmUsers } from "./ids.js";
import { nativeRequest, type KeysBackupRequest, type OutgoingRequest, type ToDeviceRequest } from "./requests.js";
import type { EncryptionSettings, RequestType, StoreType } from "./settings.js";
import { openStore } from "./store.js";

let ready: Promise<void> | null = null;

/** Loads the WebAssembly module (from the package's own file, never over the network), once. */
export function initCrypto(): Promise<void> {
  ready ??= wasm.initAsync().catch((err: unknown) => {
    ready = null;
    throw err;
  });
  return ready;
}

/** A signature made by one of the machine's keys, as the native binding shows it. */
export interface MaybeSignature {
  readonly isValid: boolean;
  readonly signature: { toBase64(): string } | null;
}

/** Signatures of one message, by signer. */
export class Signatures {
  constructor(private readonly bySigner: ReadonlyMap<string, Record<string, MaybeSignature>>) {}

  /** The signer's signatures by key id (`ed25519:DEVICE`), or null. */
  get(signer: UserId): Record<string, MaybeSignature> | null {
    return this.bySigner.get(signer.toString()) ?? null;
  }
}

/** A decrypted room event: the cleartext event as JSON. */
export interface DecryptedRoomEvent {
  readonly event: string;
  readonly sender: string | undefined;
  readonly senderDevice: string | undefined;
  readonly senderCurve25519Key: string | undefined;
}

// The bot SDK decrypts what any member sent, as the native binding did by default.
const decryptAnyone = () => new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted);

/**
 * The native binding's OlmMachine, the part of it the bot SDK uses, on the WebAssembly build of
 * the same Rust core. Ids are taken as values (fresh WebAssembly ids per call), results are
 * given in the native binding's shapes (JSON strings, field names).
 */
export class OlmMachine {
  private closed = false;

  private constructor(private readonly inner: wasm.OlmMachine) {}

  /**
   * The machine of a user's device. With `storePath` its state is kept on disk (store.ts: the
   * stores of one process side by side in one directory), encrypted with `storePassphrase` or
   * configureCryptoStore's; without, in memory only. `storeType` is accepted for the native
   * signature; there is one kind of store.
   */
  static async initialize(userId: UserId, deviceId: DeviceId, storePath?: string | null, storePassphrase?: string | null, _storeType?: StoreType | null): Promise<OlmMachine> {
    await initCrypto();
    const store = storePath ? await openStore(storePath, storePassphrase) : null;
    const inner = await wasm.OlmMachine.initialize(userId.toWasm(), deviceId.toWasm(), store?.name, store?.passphrase).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      // The core's words for a store sealed with another passphrase.
      if (store && /unpickl|decrypt/i.test(message)) throw new Error(`the crypto store at ${storePath} cannot be opened with this passphrase (${message})`, { cause: err });
      throw err;
    });
    return new OlmMachine(inner);
  }

  get userId(): UserId {
    return new UserId(this.live().userId.toString());
  }

  get deviceId(): DeviceId {
    return new DeviceId(this.live().deviceId.toString());
  }

  get identityKeys(): wasm.IdentityKeys {
    return this.live().identityKeys;
  }

  async outgoingRequests(): Promise<OutgoingRequest[]> {
    return (await this.live().outgoingRequests()).map(nativeRequest);
  }

  async markRequestAsSent(requestId: string, requestType: RequestType, response: string): Promise<boolean> {
    return this.live().markRequestAsSent(requestId, requestType as number as wasm.RequestType, response);
  }

  /**
   * What a sync (or an appservice transaction, MSC2409/MSC3202) brought for this device. Returns,
   * as the native binding does, `[to-device events, room key changes]` as JSON: the events
   * decrypted where they could be (undecryptable ones as they came), invalid ones left out.
   */
  async receiveSyncChanges(toDeviceEvents: string, changedDevices: DeviceLists, oneTimeKeyCounts: Record<string, number>, unusedFallbackKeys: string[]): Promise<string> {
    const counts = new Map<string, number>();
    for (const [algorithm, count] of Object.entries(oneTimeKeyCounts ?? {})) if (typeof count === "number") counts.set(algorithm, count);
    // A transaction without counts says nothing about them (the native binding's reading): with
    // plain receiveSyncChanges the core would take a missing count for zero and upload more keys
    // each time. Likewise an empty list of unused fallback keys is taken for "not known".
    const fallbacks = unusedFallbackKeys?.length ? new Set(unusedFallbackKeys) : undefined;
    const processed = await this.live().receiveSyncChangesMsc4186(toDeviceEvents, changedDevices.toWasm(), counts, fallbacks, decryptAnyone());
    const events: unknown[] = [];
    for (const event of processed) {
      if (event.type !== wasm.ProcessedToDeviceEventType.Invalid) events.push(JSON.parse(event.rawEvent) as unknown);
    }
    return JSON.stringify([events, []]);
  }

  async updateTrackedUsers(users: UserId[]): Promise<void> {
    await this.live().updateTrackedUsers(wasmUsers(users));
  }

  async getMissingSessions(users: UserId[]): Promise<OutgoingRequest | null> {
    const request = await this.live().getMissingSessions(wasmUsers(users));
    return request ? nativeRequest(request) : null;
  }

  async shareRoomKey(roomId: RoomId, users: UserId[], settings: EncryptionSettings): Promise<ToDeviceRequest[]> {
    return (await this.live().shareRoomKey(roomId.toWasm(), wasmUsers(users), settings.toWasm())).map((r) => nativeRequest(r) as ToDeviceRequest);
  }

  /** The `m.room.encrypted` content for an event, as JSON. */
  encryptRoomEvent(roomId: RoomId, eventType: string, content: string): Promise<string> {
    return this.live().encryptRoomEvent(roomId.toWasm(), eventType, content);
  }

  /** Rejects (a MegolmDecryptionError of the Rust core) when the room key is missing or the event is not valid. */
  async decryptRoomEvent(event: string, roomId: RoomId): Promise<DecryptedRoomEvent> {
    const decrypted = await this.live().decryptRoomEvent(event, roomId.toWasm(), decryptAnyone());
    return { event: decrypted.event, sender: decrypted.sender?.toString(), senderDevice: decrypted.senderDevice?.toString(), senderCurve25519Key: decrypted.senderCurve25519Key };
  }

  async sign(message: string): Promise<Signatures> {
    const signatures = await this.live().sign(message);
    const bySigner = new Map<string, Record<string, MaybeSignature>>();
    const own = this.live().userId.toString();
    const mine = signatures.get(new wasm.UserId(own));
    if (mine) {
      const keys: Record<string, MaybeSignature> = {};
      for (const [keyId, maybe] of mine) keys[keyId] = { isValid: maybe.isValid(), signature: maybe.signature ?? null };
      bySigner.set(own, keys);
    }
    return new Signatures(bySigner);
  }

  enableBackupV1(publicKeyBase64: string, version: string): Promise<void> {
    return this.live().enableBackupV1(publicKeyBase64, version);
  }

  disableBackup(): Promise<void> {
    return this.live().disableBackup();
  }

  async backupRoomKeys(): Promise<KeysBackupRequest | null> {
    const request = await this.live().backupRoomKeys();
    return request ? (nativeRequest(request) as KeysBackupRequest) : null;
  }

  /** The keys of one Megolm session, as the JSON array a key export holds. */
  exportRoomKeysForSession(roomId: string, sessionId: string): Promise<string> {
    return this.live().exportRoomKeys((session) => session.roomId.toString() === roomId && session.sessionId === sessionId);
  }

  private live(): wasm.OlmMachine {
    if (this.closed) throw new Error("this OlmMachine is closed");
    return this.inner;
  }

  /** Ends the machine (its store stays); a second call does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
  }
}
