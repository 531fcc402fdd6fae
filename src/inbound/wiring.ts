import { isIPv6 } from "node:net";
import type { Router } from "express";
import { Counter } from "prom-client";
import type { BridgeConfig } from "../config/types.js";
import { InboundHooks } from "../connections/inbound-hooks.js";
import type { SsrfGuard } from "../egress/ssrf.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { InboundGhosts, MatrixPort } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import type { Db } from "../store/database.js";
import { InboundDeliveriesTable } from "../store/inbound-deliveries-table.js";
import { InboundHooksTable } from "../store/inbound-hooks-table.js";
import { AvatarImporter } from "./avatar-import.js";
import { InboundError } from "./errors.js";
import { assertGhostNamespace } from "./ghost.js";
import { InboundPoster } from "./poster.js";
import { TokenBuckets } from "./rate-limit.js";
import { InboundReceiver } from "./receive.js";
import { DirectSubmitter } from "./submitter.js";
import { inboundRouter } from "./routes.js";
import type { TransformationFunctions } from "../transform/transformation-functions.js";

export interface InboundWiring {
  hooks: InboundHooks;
  /** Mounted on the bridge's one HTTP listener. */
  router: Router;
  /** The listener's real port (config may say 0), for hook URLs when bridge.publicUrl is unset. */
  listeningOn(port: number): void;
  /** Forgets remembered delivery ids older than the cutoff. */
  prune(olderThan: number): void;
}

/** Builds everything inbound hooks need (app.ts only mounts the router and routes state to `hooks`). */
export function createInbound(deps: {
  config: BridgeConfig;
  matrix: MatrixPort & InboundGhosts;
  db: Db;
  messenger: DirectMessenger;
  guard: SsrfGuard;
  /** Hooks' transformation functions, shared with outbound hooks (one sandbox). */
  transforms?: TransformationFunctions;
  metrics: BridgeMetrics;
  log: Logger;
}): InboundWiring {
  const { config, matrix, log } = deps;
  assertGhostNamespace(matrix.isBridgeUser.bind(matrix), config.homeserver.domain);
  const table = new InboundHooksTable(deps.db, config.store.encryptionKeyBytes);
  const poster = new InboundPoster(matrix);
  const deliveries = new InboundDeliveriesTable(deps.db);
  const importer = new AvatarImporter(deps.guard, (bytes, type, name) => matrix.uploadMedia(bytes, type, name), config.inbound.avatarMaxBytes);
  let port = config.bridge.port;
  const host = isIPv6(config.bridge.bindAddress) ? `[${config.bridge.bindAddress}]` : config.bridge.bindAddress;
  const base = () => config.bridge.publicUrl ?? `http://${host}:${port}`;
  const hooks = new InboundHooks({
    matrix,
    table,
    messenger: deps.messenger,
    configuredMinimumLevel: config.permissions.commandPowerLevel,
    hookUrl: (secret) => `${base()}/webhook/${secret}`,
    ghostUserId: (hookId) => poster.userIdFor(hookId),
    importAvatar: (url) => importer.import(url),
    retireGhost: (hook) => poster.retire(hook),
    log,
  });
  const submitter = new DirectSubmitter({ post: (hook, content) => poster.post(hook, content), deliveries, log });
  const receiver = new InboundReceiver({
    submitter,
    githubSecret: (hookId) => table.githubSecret(hookId),
    overrideAvatar: (url) => importer.cached(url),
    allowIdentityOverride: config.inbound.allowIdentityOverride,
    rawPayloadMaxBytes: config.inbound.rawPayloadMaxBytes,
    transforms: deps.transforms,
    log,
  });
  const answers = new Counter({
    name: "webhook_bridge_inbound_requests_total",
    help: "Inbound webhook requests by route and answer status",
    labelNames: ["route", "status"] as const,
    registers: [deps.metrics.registry],
  });
  const router = inboundRouter({
    resolve: (secret) => {
      const hook = hooks.resolve(secret);
      // A hook whose room could not be loaded at start: the homeserver's trouble, try again later.
      return hook instanceof Promise ? hook.catch(() => Promise.reject(new InboundError("homeserver", "the hook's room could not be loaded from the homeserver yet; try again later"))) : hook;
    },
    receiver,
    limiter: new TokenBuckets(config.inbound.rateLimitPerMinute, config.inbound.rateLimitBurst),
    maxBodyBytes: config.inbound.maxBodyBytes,
    log,
    onAnswer: (status, route) => answers.inc({ route: route ?? "unknown", status: String(status) }),
  });
  return { hooks, router, listeningOn: (p) => void (port = p), prune: (olderThan) => void deliveries.prune(olderThan) };
}
