import { isIPv6 } from "node:net";
import type { Router } from "express";
import type pg from "pg";
import { Counter, Gauge } from "prom-client";
import type { BridgeConfig } from "../config/types.js";
import { InboundHooks } from "../connections/inbound-hooks.js";
import type { SsrfGuard } from "../egress/ssrf.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { InboundGhosts, MatrixPort } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import type { Db } from "../store/database.js";
import { StoreUnavailableError } from "../store/store-unavailable.js";
import type { InboundPostsStore } from "../store/inbound-posts-table.js";
import { openInboundStores } from "./inbound-stores.js";
import { AvatarImporter } from "./avatar-import.js";
import { InboundError } from "./errors.js";
import { assertGhostNamespace } from "./ghost.js";
import { InboundPoster } from "./poster.js";
import { TokenBuckets } from "./rate-limit.js";
import { InboundReceiver } from "./receive.js";
import { createDiscordEndpoint } from "./discord/wiring.js";
import { postStatusBody } from "./queue/post-status.js";
import { InboundPostWorker } from "./queue/post-worker.js";
import { QueuedSubmitter } from "./queue/queued-submitter.js";
import { inboundRouter } from "./routes.js";
import { HookManagement } from "./manage/hook-management.js";
import { MessageEdits } from "./message-edits.js";
import { PostedMessages } from "./posted-messages.js";
import type { TransformationFunctions } from "../transform/transformation-functions.js";
import type { AcceptedHooksStore } from "../store/accepted-hooks-table.js";

export interface InboundWiring {
  hooks: InboundHooks;
  /** Another process changed a hook's stored secret (or, with no id, it may have been missed): read it again. */
  forgetCached(hookId?: string): void;
  /** Mounted on the bridge's one HTTP listener. */
  router: Router;
  /** The listener's real port (config may say 0), for hook URLs when bridge.publicUrl is unset. */
  listeningOn(port: number): void;
  /** Forgets posts (and their delivery ids) done before the cutoff. */
  prune(olderThan: number): Promise<void>;
  /** Posts what is queued, also what a previous run left (once the joined rooms' hooks are loaded). */
  startPosting(): void;
  /** Stops posting queued posts (what is under way finishes, bounded); the store says where to resume. Before the store's pool ends. */
  stop(): Promise<void>;
}

/** Builds everything inbound hooks need (app.ts only mounts the router and routes state to `hooks`). */
export function createInbound(deps: {
  config: BridgeConfig;
  matrix: MatrixPort & InboundGhosts;
  db: Db;
  /** The PostgreSQL store (store.engine postgres): the inbound tables are there, shared by every host; null: in the SQLite file. */
  pool: pg.Pool | null;
  messenger: DirectMessenger;
  guard: SsrfGuard;
  /** Hooks' transformation functions, shared with outbound hooks (one sandbox). */
  transforms?: TransformationFunctions;
  metrics: BridgeMetrics;
  log: Logger;
  /** The hook state accepted, for processes that follow this one's rooms (bridge.role). */
  accepted?: AcceptedHooksStore;
  /** Told after this process changed a hook's stored secret (other processes drop their copy). */
  hookChanged?: (hookId: string) => void;
}): InboundWiring {
  const { config, matrix, log } = deps;
  assertGhostNamespace(matrix.isBridgeUser.bind(matrix), config.homeserver.domain);
  const { hooks: table, posts, deliveries } = openInboundStores(deps, config.store.encryptionKeyBytes, deps.hookChanged);
  const poster = new InboundPoster(matrix);
  const importer = new AvatarImporter(deps.guard, (bytes, type, name) => matrix.uploadMedia(bytes, type, name), config.inbound.avatarMaxBytes);
  let port = config.bridge.port;
  const host = isIPv6(config.bridge.bindAddress) ? `[${config.bridge.bindAddress}]` : config.bridge.bindAddress;
  const base = () => config.bridge.publicUrl ?? `http://${host}:${port}`;
  const hooks = new InboundHooks({
    matrix,
    table,
    messenger: deps.messenger,
    configuredMinimumLevel: config.permissions.commandPowerLevel,
    allowIdentityOverride: config.inbound.allowIdentityOverride,
    hookUrl: (secret) => `${base()}/webhook/${secret}`,
    ghostUserId: (hookId) => poster.userIdFor(hookId),
    importAvatar: (url) => importer.import(url),
    retireGhost: (hook) => poster.retire(hook),
    log,
    ...(deps.accepted ? { accepted: deps.accepted } : {}),
  });
  const worker = createPostWorker(config, posts, poster, hooks, matrix, deps.metrics, log);
  const submitter = new QueuedSubmitter({ table: posts, worker, waitMs: config.inbound.postWaitMs, log });
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
    resolve: (secret) =>
      hooks.resolve(secret).catch((err: unknown) => {
        // The store's failure is answered as such (routes.ts); else the hook's room could not be
        // loaded at start: the homeserver's trouble, try again later.
        throw err instanceof StoreUnavailableError ? err : new InboundError("homeserver", "the hook's room could not be loaded from the homeserver yet; try again later");
      }),
    receiver,
    postStatus: (hook, postId) => postStatusBody(posts, hook.id, postId),
    management: new HookManagement({ hooks, matrix, avatars: importer, log }),
    messageEdits: new MessageEdits({ receiver, messages: new PostedMessages({ ghosts: matrix, ghostUserId: (hookId) => poster.userIdFor(hookId) }) }),
    limiter: new TokenBuckets(config.inbound.rateLimitPerMinute, config.inbound.rateLimitBurst),
    maxBodyBytes: config.inbound.maxBodyBytes,
    log,
    discord: createDiscordEndpoint({ submitter, ghosts: matrix, ghostUserId: (hookId) => poster.userIdFor(hookId), overrideAvatar: (url) => importer.cached(url), postedWith: (hookId, eventId) => posts.postedWith(hookId, eventId), config, log }),
    onAnswer: (status, route) => answers.inc({ route: route ?? "unknown", status: String(status) }),
  });
  return {
    hooks,
    forgetCached: (hookId) => (hookId === undefined ? table.forgetAllCached() : table.forgetCached(hookId)),
    router,
    listeningOn: (p) => void (port = p),
    prune: async (olderThan) => {
      await posts.prune(olderThan);
      await deliveries.prune(olderThan);
    },
    startPosting: () => worker.start(),
    stop: () => worker.stop(),
  };
}

/** The worker that posts queued posts, with its metrics and its notices in the room. */
function createPostWorker(config: BridgeConfig, posts: InboundPostsStore, poster: InboundPoster, hooks: InboundHooks, matrix: MatrixPort, metrics: BridgeMetrics, log: Logger): InboundPostWorker {
  const outcomes = new Counter({
    name: "webhook_bridge_inbound_posts_total",
    help: "Inbound posts by what became of them: posted, refused (by the homeserver), dropped (hook removed), expired (given up)",
    labelNames: ["outcome"] as const,
    registers: [metrics.registry],
  });
  // prom-client awaits an async collect; while the store cannot be read the last count stays.
  let queued = 0;
  new Gauge({
    name: "webhook_bridge_inbound_posts_queued",
    help: "Inbound posts stored and not yet posted (the homeserver down or busy, or waiting their turn)",
    registers: [metrics.registry],
    async collect() {
      queued = await posts.pendingCount().catch((err: unknown) => {
        log.warn({ err: err instanceof StoreUnavailableError ? err.logged() : err }, "could not count the queued inbound posts for the metrics");
        return queued;
      });
      this.set(queued);
    },
  });
  return new InboundPostWorker({
    table: posts,
    poster,
    hookOf: async (hookId) => hooks.registry.byId(hookId) ?? ((await hooks.stored(hookId)) ? "held" : "gone"),
    concurrency: config.inbound.postConcurrency,
    giveUpAfterMs: config.inbound.postGiveUpHours * 3_600_000,
    tellRoom: (post, reason) => {
      const name = hooks.registry.byId(post.hookId)?.name;
      const text = `A message sent to inbound hook${name ? ` "${name}"` : ""} was queued (post ${post.id}) and then not posted: ${reason}`;
      matrix.sendNotice(post.roomId, text).catch((err: unknown) => log.warn({ err, roomId: post.roomId, postId: post.id }, "could not tell the room about an inbound post not posted"));
    },
    onOutcome: (outcome) => outcomes.inc({ outcome }),
    log,
  });
}
