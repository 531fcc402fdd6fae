/*
 * The encryption fields of an appservice transaction (MSC2409 to-device events, MSC3202 device
 * lists and key counts). None has a stable name yet; Synapse 1.163 sends the prefixed ones. They
 * come from the homeserver, so each is checked and a malformed one is left out, with the reason.
 */

export interface ToDeviceMessage {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  to_user_id: string;
  to_device_id: string;
}

/** One-time-key counts by algorithm, for one device. */
export type KeyCounts = Record<string, number>;

export interface TransactionCrypto {
  toDevice: ToDeviceMessage[];
  /** By user id, then device id (Maps: the ids come from outside). */
  oneTimeKeyCounts: Map<string, Map<string, KeyCounts>>;
  unusedFallbackKeyTypes: Map<string, Map<string, string[]>>;
  changedDevices: string[];
  leftDevices: string[];
  /** What was left out, and why (to log). */
  problems: string[];
}

const TO_DEVICE = ["de.sorunome.msc2409.to_device", "org.matrix.msc2409.to_device", "to_device"];
const KEY_COUNTS = ["org.matrix.msc3202.device_one_time_keys_count", "org.matrix.msc3202.device_one_time_key_counts", "device_one_time_keys_count"];
const FALLBACK_TYPES = ["org.matrix.msc3202.device_unused_fallback_key_types", "device_unused_fallback_key_types"];
const DEVICE_LISTS = ["org.matrix.msc3202.device_lists", "device_lists"];

/** `@localpart:server`, as the crypto core parses user ids (loosely: historical localparts allowed). */
const USER_ID = /^@[^:\s]+:[^\s]+$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const first = (body: Record<string, unknown>, names: readonly string[]): unknown => {
  for (const name of names) if (Object.hasOwn(body, name)) return body[name];
  return undefined;
};

/** The transaction's encryption fields, or null when it carries none. */
export function transactionCrypto(body: unknown): TransactionCrypto | null {
  if (!isObject(body)) return null;
  const rawToDevice = first(body, TO_DEVICE);
  const rawCounts = first(body, KEY_COUNTS);
  const rawFallback = first(body, FALLBACK_TYPES);
  const rawLists = first(body, DEVICE_LISTS);
  if (rawToDevice === undefined && rawCounts === undefined && rawFallback === undefined && rawLists === undefined) return null;
  const problems: string[] = [];
  const toDevice: ToDeviceMessage[] = [];
  if (rawToDevice !== undefined) {
    if (!Array.isArray(rawToDevice)) problems.push("to-device events: not a list");
    else {
      for (const m of rawToDevice) {
        if (isToDevice(m)) toDevice.push(m);
        else problems.push("a to-device event without type, sender, content, to_user_id and to_device_id");
      }
    }
  }
  return {
    toDevice,
    oneTimeKeyCounts: perDevice(rawCounts, "one-time-key counts", problems, (v) => (isObject(v) && Object.values(v).every((n) => Number.isSafeInteger(n) && (n as number) >= 0) ? (Object.assign(Object.create(null), v) as KeyCounts) : null)),
    unusedFallbackKeyTypes: perDevice(rawFallback, "unused fallback key types", problems, (v) => (Array.isArray(v) && v.every((t) => typeof t === "string") ? (v as string[]) : null)),
    changedDevices: userList(rawLists, "changed", problems),
    leftDevices: userList(rawLists, "left", problems),
    problems,
  };
}

function isToDevice(m: unknown): m is ToDeviceMessage {
  return isObject(m) && typeof m.type === "string" && typeof m.sender === "string" && isObject(m.content) && typeof m.to_user_id === "string" && typeof m.to_device_id === "string";
}

function perDevice<T>(raw: unknown, what: string, problems: string[], read: (v: unknown) => T | null): Map<string, Map<string, T>> {
  const out = new Map<string, Map<string, T>>();
  if (raw === undefined) return out;
  if (!isObject(raw)) {
    problems.push(`${what}: not a mapping of users`);
    return out;
  }
  for (const [userId, devices] of Object.entries(raw)) {
    if (!isObject(devices)) {
      problems.push(`${what} of ${userId}: not a mapping of devices`);
      continue;
    }
    const byDevice = new Map<string, T>();
    for (const [deviceId, value] of Object.entries(devices)) {
      const read_ = read(value);
      if (read_ === null) problems.push(`${what} of ${userId}'s device ${deviceId}: malformed`);
      else byDevice.set(deviceId, read_);
    }
    out.set(userId, byDevice);
  }
  return out;
}

function userList(raw: unknown, key: "changed" | "left", problems: string[]): string[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) {
    problems.push("device lists: not a mapping");
    return [];
  }
  // The bot SDK reads "removed"; the MSC and Synapse say "left".
  const list = key === "left" ? (raw.left ?? raw.removed) : raw.changed;
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    problems.push(`device lists' ${key}: not a list of user ids`);
    return [];
  }
  // The crypto core refuses the whole list for one bad id: those are left out.
  const ids = list.filter((u): u is string => typeof u === "string" && USER_ID.test(u));
  if (ids.length < list.length) problems.push(`device lists' ${key}: ${list.length - ids.length} entries that are not user ids`);
  return ids;
}

/** The part of a transaction's encryption fields one device should see. */
export function forDevice(data: TransactionCrypto, userId: string, deviceId: string): { toDevice: ToDeviceMessage[]; counts: KeyCounts | undefined; fallbackTypes: string[] | undefined } {
  return {
    toDevice: data.toDevice.filter((m) => m.to_user_id === userId && (m.to_device_id === deviceId || m.to_device_id === "*")),
    counts: data.oneTimeKeyCounts.get(userId)?.get(deviceId),
    fallbackTypes: data.unusedFallbackKeyTypes.get(userId)?.get(deviceId),
  };
}
