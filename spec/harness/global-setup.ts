// One Synapse for the whole e2e run, with the bridge's registration and the pre-send module already loaded.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, startSynapse } from "../../src/demo/synapse.js";
import { generateRegistration, writeRegistrationFile } from "../../src/matrix/registration.js";

export interface ProvidedSynapse {
  url: string;
  serverName: string;
  sharedSecret: string;
  /** The bridge under test must use these tokens and listen on bridgePort. */
  registrationPath: string;
  bridgePort: number;
  dataDir: string;
  /** The pre-send module asks http://127.0.0.1:<bridgePort> with this secret (the bridge's callbacks.precheck.secret). */
  precheckSecret: string;
  /** Events of this type only are checked by a second module instance with on_bridge_failure: reject. */
  precheckRejectPolicyType: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    synapse: ProvidedSynapse;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "mwb-e2e-"));
  const bridgePort = await freePort();
  const registrationPath = join(dir, "registration.yaml");
  await writeRegistrationFile(registrationPath, generateRegistration({ url: `http://127.0.0.1:${bridgePort}`, encryption: true }));
  const dataDir = join(dir, "synapse");
  const precheckSecret = randomBytes(24).toString("hex");
  const precheckRejectPolicyType = "org.matrix-webhook-bridge.test.reject-policy";
  const precheck = { bridge_url: `http://127.0.0.1:${bridgePort}`, secret: precheckSecret };
  const synapse = await startSynapse({
    dataDir,
    appserviceRegistrationFiles: [registrationPath],
    pythonPath: [fileURLToPath(new URL("../../synapse-module", import.meta.url))],
    modules: [
      { module: "matrix_webhook_bridge_precheck.PrecheckModule", config: { ...precheck, timeout_seconds: 5 } },
      // A second instance with the other failure policy, for event types no other test sends.
      {
        module: "matrix_webhook_bridge_precheck.PrecheckModule",
        config: { ...precheck, timeout_seconds: 1, on_bridge_failure: "reject", event_types: [precheckRejectPolicyType] },
      },
    ],
    log: (line) => console.log(`[synapse] ${line}`),
  });
  project.provide("synapse", {
    url: synapse.url,
    serverName: synapse.serverName,
    sharedSecret: synapse.sharedSecret,
    registrationPath,
    bridgePort,
    dataDir,
    precheckSecret,
    precheckRejectPolicyType,
  });
  return async () => {
    await synapse.stop();
    // KEEP_E2E_DATA=1 leaves the homeserver log and database for a post-mortem.
    if (process.env.KEEP_E2E_DATA) console.log(`[synapse] data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  };
}
