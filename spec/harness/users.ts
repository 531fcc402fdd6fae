// Helpers for test workers: register users on the shared Synapse from the provided context.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { registerWithSharedSecret } from "../../src/demo/synapse.js";
import { TestClient } from "../../src/demo/test-client.js";
import type {} from "./global-setup.js"; // the ProvidedContext typing, without loading the module

/** Localparts must be unique across the run (one homeserver for all spec files), and must not start
 * with "webhook_": that namespace is the bridge's, and Synapse refuses it with M_EXCLUSIVE. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`.toLowerCase();
}

export async function registerUser(
  localpart: string,
  opts: { admin?: boolean; password?: string } = {},
): Promise<{ userId: string; accessToken: string; client: TestClient }> {
  const { url, sharedSecret } = inject("synapse");
  const { userId, accessToken } = await registerWithSharedSecret(url, sharedSecret, localpart, opts);
  return { userId, accessToken, client: new TestClient(url, userId, accessToken) };
}
