// A real Matrix client with real end-to-end encryption (matrix-js-sdk and its Rust crypto, in
// memory): what a person in an encrypted room would use.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { ClientEvent, createClient, type MatrixClient, type MatrixEvent, SyncState } from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";
import { registerWithSharedSecret } from "../../src/demo/synapse.js";
import type {} from "./global-setup.js";

// loglevel underneath: only errors, or every sync would log.
(logger as unknown as { setLevel?: (level: string) => void }).setLevel?.("error");

export interface EncryptingClient {
  client: MatrixClient;
  userId: string;
  accessToken: string;
  /** Creates an encrypted room with these users invited (at power level 50, so a bot may write state); resolves once this client knows it. */
  createEncryptedRoom(invite: string[]): Promise<string>;
  send(roomId: string, content: Record<string, unknown>): Promise<string>;
  /** The first event from `sender` whose decrypted content matches; rejects after `timeoutMs`. */
  waitForDecrypted(roomId: string, sender: string, match: (content: Record<string, unknown>, event: MatrixEvent) => boolean, timeoutMs?: number): Promise<MatrixEvent>;
  stop(): Promise<void>;
}

/** Registers a user, logs in a fresh device, starts its crypto and its sync. */
export async function encryptingClient(localpart: string): Promise<EncryptingClient> {
  const { url, sharedSecret } = inject("synapse");
  const password = randomBytes(12).toString("hex");
  await registerWithSharedSecret(url, sharedSecret, localpart, { password });
  const login = await createClient({ baseUrl: url }).loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password, initial_device_display_name: "e2e test" });
  const client = createClient({ baseUrl: url, userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id });
  await client.initRustCrypto({ useIndexedDB: false });
  const prepared = new Promise<void>((resolve) => {
    const onSync = (state: SyncState) => {
      if (state !== SyncState.Prepared && state !== SyncState.Syncing) return;
      client.off(ClientEvent.Sync, onSync);
      resolve();
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 20 });
  await prepared;

  const until = async <T>(what: string | (() => string), timeoutMs: number, probe: () => Promise<T | null> | T | null): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 10_000; i++) {
      const found = await probe();
      if (found !== null) return found;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${typeof what === "string" ? what : what()}: not seen within ${timeoutMs} ms`);
  };

  return {
    client,
    userId: login.user_id,
    accessToken: login.access_token,
    async createEncryptedRoom(invite) {
      const { room_id: roomId } = await client.createRoom({
        invite,
        power_level_content_override: { users: { ...Object.fromEntries(invite.map((u) => [u, 50])) } },
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await until(`room ${roomId} in this client`, 15_000, () => client.getRoom(roomId));
      return roomId;
    },
    async send(roomId, content) {
      return (await client.sendEvent(roomId, "m.room.message" as never, content as never)).event_id;
    },
    waitForDecrypted(roomId, sender, match, timeoutMs = 20_000) {
      // On failure, what was seen from the sender (a decryption failure names its reason).
      const seen = () => (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []).filter((e) => e.getSender() === sender)
        .map((e) => (e.isDecryptionFailure() ? `undecryptable (${e.decryptionFailureReason})` : `${e.getType()} ${JSON.stringify(e.getContent()).slice(0, 120)}`));
      return until(() => `a decrypted event from ${sender} in ${roomId} (seen: ${seen().join("; ") || "nothing"})`, timeoutMs, async () => {
        const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
        for (const event of events) {
          if (event.getSender() !== sender) continue;
          await client.decryptEventIfNeeded(event);
          if (event.isEncrypted() && !event.isDecryptionFailure() && match(event.getContent(), event)) return event;
        }
        return null;
      });
    },
    async stop() {
      client.stopClient();
    },
  };
}
