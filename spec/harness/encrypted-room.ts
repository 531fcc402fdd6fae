// What the encryption specs share: the bot's notices as a client decrypts them, the bot's device
// keys as the homeserver publishes them, and transactions sent to the bridge in the test's order.
import { inject } from "vitest";
import Database from "better-sqlite3";
import { join } from "node:path";
import type { MatrixClient } from "matrix-js-sdk";

/** Matches a decrypted m.notice whose body matches. */
export const notice = (pattern: RegExp) => (content: Record<string, unknown>) => content.msgtype === "m.notice" && pattern.test(String(content.body));

export const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The user's devices and their keys, from the homeserver's /keys/query. */
export async function deviceKeys(client: MatrixClient, userId: string): Promise<Record<string, { keys: Record<string, string> }>> {
  const res = await client.http.authedRequest<{ device_keys: Record<string, Record<string, { keys: Record<string, string> }>> }>("POST" as never, "/keys/query", undefined, { device_keys: { [userId]: [] } });
  return res.device_keys[userId] ?? {};
}

/** A transaction as the homeserver sends it, straight to the bridge; throws unless answered 200. */
export async function hsTransaction(bridgeUrl: string, hsToken: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${bridgeUrl}/_matrix/app/v1/transactions/test-${Date.now()}-${Math.random()}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${hsToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [], ...body }),
  });
  if (res.status !== 200) throw new Error(`the bridge answered the transaction ${res.status}: ${await res.text()}`);
}

/** The ids of the one-time keys the homeserver holds for a device (read from Synapse's own database). */
export function oneTimeKeyIds(userId: string, deviceId: string): string[] {
  const db = new Database(join(inject("synapse").dataDir, "homeserver.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[string, string], { key_id: string; algorithm: string }>("SELECT algorithm, key_id FROM e2e_one_time_keys_json WHERE user_id = ? AND device_id = ?")
      .all(userId, deviceId).map((r) => `${r.algorithm}:${r.key_id}`);
  } finally {
    db.close();
  }
}

/**
 * The device the bridge made for a user, from the bridge's store. The bot's user is shared by every
 * bridge of the test run, and each store makes its own device, so the homeserver lists several.
 */
export function bridgeDeviceId(storePath: string, userId: string): string {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare<[string], { device_id: string }>("SELECT device_id FROM crypto_devices WHERE user_id = ?").get(userId);
    if (!row) throw new Error(`the bridge's store has no device for ${userId}`);
    return row.device_id;
  } finally {
    db.close();
  }
}

/** A Prometheus series' value from the bridge's /metrics (0 when absent). */
export async function metric(bridgeUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${bridgeUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(" ")[1]) : 0;
}
