// A bridge started in the benchmark's own process, on the benchmark's Synapse: loopback receivers
// allowed, errors only in the log, a fresh store in `dir`; `extra` adds config sections.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { WebhookBridge } from "../src/app.js";
import { validateConfig } from "../src/config/index.js";
import type { SynapseHandle } from "../src/demo/synapse.js";
import { loadRegistration, type LoadedRegistration } from "../src/matrix/registration.js";
import { createLogger } from "../src/observability/logger.js";

export async function startInProcessBridge(o: { synapse: SynapseHandle; bridgePort: number; registrationPath: string; dir: string; extra?: Record<string, unknown> }): Promise<{ bridge: WebhookBridge; registration: LoadedRegistration; botUserId: string }> {
  const config = validateConfig({
    homeserver: { url: o.synapse.url, domain: o.synapse.serverName },
    bridge: { bindAddress: "127.0.0.1", port: o.bridgePort },
    store: { path: join(o.dir, "bridge.db"), encryptionKey: randomBytes(32).toString("base64") },
    delivery: { allowedNetworks: ["127.0.0.1/32"] },
    logging: { level: "error" },
    ...o.extra,
  });
  const registration = await loadRegistration(o.registrationPath);
  const bridge = await WebhookBridge.start({ config, registration, log: createLogger("error") });
  return { bridge, registration, botUserId: `@${registration.senderLocalpart}:${o.synapse.serverName}` };
}
