// For the package's tests: the homeserver's part in key exchange (keys/upload, /query, /claim,
// sendToDevice), kept in memory, so that two machines in one process can set up Olm sessions and
// share a room key with nothing else running. The bridge's own tests use a real Synapse.
import type { OlmMachine } from "./olm-machine.js";
import { RequestType } from "./settings.js";
import type { OutgoingRequest } from "./requests.js";

type Json = Record<string, unknown>;

export class KeyDirectory {
  private readonly deviceKeys = new Map<string, Json>();
  private readonly oneTimeKeys = new Map<string, Map<string, unknown>>();
  private readonly inboxes = new Map<string, Json[]>();

  /** Sends every request the machine has until it has none (bounded: 20 rounds). */
  async pump(machine: OlmMachine, userId: string, deviceId: string): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const requests = await machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const request of requests) {
        const response = this.answer(userId, deviceId, request.type, JSON.parse(request.body) as Json, request);
        await machine.markRequestAsSent(request.id, request.type, JSON.stringify(response));
      }
    }
    throw new Error("the machine kept asking for more than 20 rounds");
  }

  /** Answers one request as a homeserver would. */
  answer(userId: string, deviceId: string, type: RequestType, body: Json, request?: OutgoingRequest): Json {
    const key = `${userId}|${deviceId}`;
    switch (type) {
      case RequestType.KeysUpload: {
        if (body.device_keys) this.deviceKeys.set(key, body.device_keys as Json);
        const otks = this.oneTimeKeys.get(key) ?? new Map<string, unknown>();
        for (const [id, value] of Object.entries((body.one_time_keys ?? {}) as Json)) otks.set(id, value);
        this.oneTimeKeys.set(key, otks);
        return { one_time_key_counts: { signed_curve25519: otks.size } };
      }
      case RequestType.KeysQuery: {
        const result: Record<string, Json> = {};
        for (const user of Object.keys((body.device_keys ?? {}) as Json)) {
          result[user] = {};
          for (const [k, keys] of this.deviceKeys) if (k.startsWith(`${user}|`)) result[user]![k.slice(user.length + 1)] = keys;
        }
        return { device_keys: result, failures: {} };
      }
      case RequestType.KeysClaim: {
        const claimed: Record<string, Record<string, Json>> = {};
        for (const [user, devices] of Object.entries((body.one_time_keys ?? {}) as Record<string, Json>)) {
          for (const device of Object.keys(devices)) {
            const otks = this.oneTimeKeys.get(`${user}|${device}`);
            const first = otks ? [...otks.entries()][0] : undefined;
            if (!first) continue;
            otks!.delete(first[0]);
            ((claimed[user] ??= {})[device] = { [first[0]]: first[1] });
          }
        }
        return { one_time_keys: claimed, failures: {} };
      }
      case RequestType.ToDevice: {
        for (const [user, devices] of Object.entries((body.messages ?? {}) as Record<string, Json>)) {
          for (const [device, content] of Object.entries(devices)) {
            const inbox = this.inboxes.get(`${user}|${device}`) ?? [];
            inbox.push({ sender: userId, type: request && "eventType" in request ? request.eventType : undefined, content });
            this.inboxes.set(`${user}|${device}`, inbox);
          }
        }
        return {};
      }
      default:
        return {};
    }
  }

  /** The to-device events waiting for a device, as a sync would bring them (emptied). */
  takeInbox(userId: string, deviceId: string): Json[] {
    const inbox = this.inboxes.get(`${userId}|${deviceId}`) ?? [];
    this.inboxes.delete(`${userId}|${deviceId}`);
    return inbox;
  }

  oneTimeKeyCount(userId: string, deviceId: string): number {
    return this.oneTimeKeys.get(`${userId}|${deviceId}`)?.size ?? 0;
  }
}
