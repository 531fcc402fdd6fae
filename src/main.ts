#!/usr/bin/env -S node --max-old-space-size=512 --max-semi-space-size=8
// First: on a Node too old for the bridge, one clear line instead of a dependency's stack trace.
import "./runtime/require-node.js";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { WebhookBridge } from "./app.js";
import { ConfigError, configWarnings, loadConfig } from "./config/index.js";
import { generateRegistration, loadRegistration, writeRegistrationFile } from "./matrix/registration.js";
import { createLogger } from "./observability/logger.js";
import { missingNodeFlags } from "./runtime/node-flags.js";
import { VERSION } from "./version.js";

const HELP = `matrix-webhook-bridge ${VERSION} — Matrix room events to webhooks, and back

Usage:
  matrix-webhook-bridge -c config.yml -r registration.yml        start the bridge
  matrix-webhook-bridge -c config.yml --check-config             validate the config and exit
  matrix-webhook-bridge --generate-registration -r registration.yml --url http://bridge-host:9993
                                                                  write a registration file with fresh tokens
  matrix-webhook-bridge --demo                                    run a throwaway Synapse, the bridge and a receiver

Options:
  -c, --config PATH            config file (default config.yml)
  -r, --registration PATH      registration file (default registration.yml)
      --url URL                with --generate-registration: where the homeserver reaches the bridge
                               (default: from the config's bridge.bindAddress and bridge.port)
      --id ID                  with --generate-registration: appservice id (default webhook-bridge)
      --sender-localpart NAME  with --generate-registration: the bot's localpart (default webhooks)
      --encryption             with --generate-registration: ask for what end-to-end encryption needs
                               (to-device events, device lists, key counts, devices); also when the
                               config given with -c has encryption.enabled
      --force                  with --generate-registration: overwrite an existing file
      --role ROLE              all (default), appservice, worker or inbound: overrides bridge.role
  -h, --help                   this help
  -v, --version                the version`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c", default: "config.yml" },
      registration: { type: "string", short: "r", default: "registration.yml" },
      "generate-registration": { type: "boolean" },
      "check-config": { type: "boolean" },
      demo: { type: "boolean" },
      url: { type: "string" },
      id: { type: "string" },
      "sender-localpart": { type: "string" },
      force: { type: "boolean" },
      encryption: { type: "boolean" },
      role: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
    strict: true,
  });
  if (values.help) return print(HELP);
  if (values.version) return print(VERSION);
  if (values.demo) {
    const { runDemo } = await import("./demo/run-demo.js");
    return runDemo();
  }
  if (values["generate-registration"]) {
    const path = values.registration;
    if (existsSync(path) && !values.force) throw new UsageError(`${path} already exists; pass --force to overwrite it (the homeserver must then load the new file).`);
    let url = values.url;
    let encryption = values.encryption ?? false;
    if (!url) {
      if (!existsSync(values.config)) throw new UsageError(`Give --url (where the homeserver reaches the bridge), or a config file with -c.`);
      const config = loadConfig(values.config);
      url = `http://${config.bridge.bindAddress}:${config.bridge.port}`;
      encryption ||= config.encryption.enabled;
    }
    const reg = generateRegistration({ url, id: values.id, senderLocalpart: values["sender-localpart"], encryption });
    await writeRegistrationFile(path, reg);
    return print(`Wrote ${path} (homeserver → bridge at ${url}). Add it to the homeserver's app_service_config_files and restart the homeserver.`);
  }
  const config = loadConfig(values.config, values.role === undefined ? {} : { role: values.role });
  for (const warning of configWarnings(config)) console.error(`Warning: ${warning}`);
  if (values["check-config"]) return print(`${values.config} is valid.`);
  const registration = await loadRegistration(values.registration);
  const log = createLogger(config.logging.level);
  const missingFlags = missingNodeFlags(process.execArgv, process.env.NODE_OPTIONS);
  if (missingFlags.length > 0) {
    log.warn({ missing: missingFlags }, "Node runs without the bridge's heap flags: V8 may let memory grow to several times what the bridge keeps live (README: Memory)");
  }
  const bridge = await WebhookBridge.start({ config, registration, log });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, "stopping");
      bridge.stop().then(resolve, (err) => {
        log.error({ err }, "error while stopping");
        resolve();
      });
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });
  return 0;
}

class UsageError extends Error {}

function print(text: string): number {
  console.log(text);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // People read these: the message, never a stack trace (LOG_LEVEL=debug style details go to logs).
    if (err instanceof ConfigError || err instanceof UsageError) console.error(err.message);
    else if (err instanceof Error && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) console.error(`${err.message}\n\n${HELP}`);
    else console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
