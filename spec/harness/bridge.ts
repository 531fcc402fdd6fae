// Starts the bridge under test in this worker, with the registration the shared Synapse knows.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { WebhookBridge } from "../../src/app.js";
import { validateConfig } from "../../src/config/index.js";
import { loadRegistration } from "../../src/matrix/registration.js";
import { createLogger } from "../../src/observability/logger.js";
import type {} from "./global-setup.js";

export interface BridgeUnderTest {
  bridge: WebhookBridge;
  botUserId: string;
  hsToken: string;
  url: string;
  storePath: string;
  stop(): Promise<void>;
}

/** Fast retries so the suite stays quick; `overrides` are merged per top-level section. */
export async function startBridge(overrides: Record<string, Record<string, unknown>> = {}, storePath?: string): Promise<BridgeUnderTest> {
  const { url, serverName, registrationPath, bridgePort } = inject("synapse");
  const path = storePath ?? join(tempStoreDir(), "bridge.db");
  const base: Record<string, Record<string, unknown>> = {
    homeserver: { url, domain: serverName },
    bridge: { bindAddress: "127.0.0.1", port: bridgePort },
    permissions: { commandPowerLevel: 50 },
    store: { path, encryptionKey: KEY },
    delivery: { retrySchedule: [0.3, 0.9, 1.5], retries: 3, jitter: 0, timeoutSeconds: 3, allowedNetworks: ["127.0.0.1/32"] },
    logging: { level: process.env.BRIDGE_LOG_LEVEL ?? "error" },
  };
  for (const [section, values] of Object.entries(overrides)) base[section] = { ...base[section], ...values };
  const config = validateConfig(base, "test config");
  const registration = await loadRegistration(registrationPath);
  const bridge = await WebhookBridge.start({ config, registration, log: createLogger(config.logging.level) });
  return {
    bridge,
    botUserId: `@${registration.senderLocalpart}:${serverName}`,
    hsToken: registration.hsToken,
    url: `http://127.0.0.1:${bridge.port}`,
    storePath: path,
    stop: () => bridge.stop(),
  };
}

// One key per test run: stores of one run stay readable across a restart of the bridge.
const KEY = randomBytes(32).toString("base64");

/** A store directory that lives as long as this test worker (restarts in a test reuse it). */
function tempStoreDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mwb-bridge-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
