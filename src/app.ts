import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BridgeConfig } from "./config/types.js";
import { OutboundDeliveryTargets } from "./connections/outbound-delivery-targets.js";
import { OutboundHooks } from "./connections/outbound-hooks.js";
import { HookTls } from "./connections/hook-tls.js";
import { LastFailures } from "./connections/last-failures.js";
import { BotRooms } from "./connections/bot-rooms.js";
import { WebhookBots } from "./connections/webhook-bots.js";
import { openDeliveryQueue } from "./delivery/queue/open-queue.js";
import { HttpSender } from "./delivery/sender.js";
import { MediaDownloader } from "./matrix/media-download.js";
import { DeliveryRenderer } from "./outbound/formats/render.js";
import { HookBodies } from "./outbound/formats/hook-bodies.js";
import { createChat } from "./outbound/chat/wiring.js";
import type { ReplyPoster } from "./outbound/chat/reply-poster.js";
import { MediaLinks, mediaLinkRouter } from "./http/media-link.js";
import { createCallbacks } from "./callbacks/wiring.js";
import { FormatAnswers } from "./outbound/format-answers.js";
import { SsrfGuard } from "./egress/ssrf.js";
import { DeliveryWorker } from "./delivery/worker.js";
import { createHttpApp, listen } from "./http/server.js";
import { createInbound, type InboundWiring } from "./inbound/wiring.js";
import { AppserviceMatrix } from "./matrix/appservice-matrix.js";
import { DirectMessenger } from "./matrix/direct-messenger.js";
import { EventRouter } from "./router/event-router.js";
import type { LoadedRegistration } from "./matrix/registration.js";
import { appserviceRouter } from "./matrix/transactions.js";
import { RoomNotifier } from "./matrix/room-notifier.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { routeLibraryLogs } from "./observability/library-logs.js";
import { BridgeMetrics } from "./observability/metrics.js";
import { WalCheckpointer } from "./store/wal-checkpointer.js";
import { openDatabase, type Db } from "./store/database.js";
import { DmRoomsTable } from "./store/dm-rooms-table.js";
import { PgDmRoomsTable } from "./store/postgres/pg-dm-rooms-table.js";
import { RoomSnapshots } from "./router/room-snapshots.js";
import { openOutboundHookRecords, type OutboundHookRecords } from "./store/outbound-hook-records.js";
import { StoreUnavailableError } from "./store/store-unavailable.js";
import { USER_AGENT } from "./version.js";
import { TransformationFunctions } from "./transform/transformation-functions.js";
import { checkEncryptionRegistration, startEncryption, type Encryption } from "./matrix/encryption/start-encryption.js";
import { RoomFollower } from "./router/room-follower.js";
import { openRoomStores, type RoomStores } from "./router/room-stores.js";
import { rolePlan } from "./role-plan.js";

export const COMMAND_PREFIX = "!hooks";
/** Rooms whose state is read at once when the bridge starts (each is one homeserver request). */
const ROOMS_LOADED_AT_ONCE = 8;

export interface StartOptions {
  config: BridgeConfig;
  registration: LoadedRegistration;
  log?: Logger;
}

/** The running bridge: wires store, Matrix, HTTP and delivery together (the one place that does). */
export class WebhookBridge {
  private constructor(
    readonly port: number,
    readonly router: EventRouter,
    readonly outbound: OutboundHooks,
    private readonly server: Server,
    private readonly worker: DeliveryWorker,
    private readonly replies: ReplyPoster,
    private readonly closeQueue: () => Promise<void>,
    private readonly sender: HttpSender,
    private readonly downloader: MediaDownloader,
    private readonly matrix: AppserviceMatrix,
    private readonly db: Db,
    private readonly log: Logger,
    private readonly timers: ReadonlyArray<NodeJS.Timeout>,
    private readonly checkpointer: WalCheckpointer,
    private readonly inbound: InboundWiring,
    private readonly transforms: TransformationFunctions,
    private readonly snapshots: RoomSnapshots,
    private readonly encryption: Encryption | null,
    private readonly follower: RoomFollower,
    private readonly targets: OutboundDeliveryTargets,
  ) {}

  static async start({ config, registration, log = createLogger(config.logging.level) }: StartOptions): Promise<WebhookBridge> {
    routeLibraryLogs(log);
    if (config.encryption.enabled) checkEncryptionRegistration(registration);
    const db = openDatabase(config.store.path, { synchronous: config.store.synchronous });
    const checkpointer = WalCheckpointer.start(db, { onError: (message) => log.warn({ error: message }, "background WAL checkpoint failed; SQLite checkpoints on commit instead") });
    const metrics = new BridgeMetrics({ defaultMetrics: config.metrics.enabled });
    let opened;
    try {
      opened = await openDeliveryQueue(config, db, log);
    } catch (err) {
      await checkpointer.stop();
      db.close();
      throw err;
    }
    const { queue, changes, pool, close: closeQueue } = opened;
    const plan = rolePlan(config.bridge.role);
    const matrix = new AppserviceMatrix({ homeserverUrl: config.homeserver.url, domain: config.homeserver.domain, registration });
    try {
      await matrix.start();
    } catch (err) {
      await closeQueue();
      await checkpointer.stop();
      db.close();
      throw new Error(`Cannot reach the homeserver at ${config.homeserver.url}: ${(err as Error).message}`, { cause: err });
    }
    if (plan.answersHomeserver) await matrix.setBotProfile(config.bot.displayName, config.bot.avatarUrl).catch((err) => log.warn({ err }, "could not set the bot's profile"));
    let encryption: Encryption | null = null;
    if (config.encryption.enabled) {
      try {
        // Routing is wired below; events decrypted late wait for it (none come before the listener).
        encryption = await startEncryption({ config, registration, matrix, db, metrics, log, route: (txnId, events) => router.handle(txnId, events, null, null) });
      } catch (err) {
        await matrix.stop();
        await closeQueue();
        await checkpointer.stop();
        db.close();
        throw new Error(`Cannot start end-to-end encryption: ${(err as Error).message}`, { cause: err });
      }
    }

    const guard = new SsrfGuard(config.delivery.allowedNetworks);
    // What this process changes in a hook's secrets, the others sharing the store drop from memory.
    const hookChanged = (hookId: string): void => changes.publish({ kind: "hook", id: hookId });
    let records: OutboundHookRecords;
    let roomStores: RoomStores;
    try {
      records = await openOutboundHookRecords({ db, pool, alone: plan.alone }, config.store.encryptionKeyBytes, hookChanged);
      // The hook state this process accepts, for the processes that follow its rooms; each change is announced.
      roomStores = await openRoomStores({ db, pool, alone: plan.alone }, (roomId, version) => {
        follower.noteOwnChange(roomId, version);
        changes.publish({ kind: "room", id: roomId });
      });
    } catch (err) {
      await encryption?.devices.stop();
      await matrix.stop();
      await closeQueue();
      await checkpointer.stop();
      db.close();
      throw new Error(`Cannot read the hooks from the store: ${(err as Error).message}`, { cause: err });
    }
    const { hooks: table, signingKeys, tls: tlsTable } = records;
    const messenger = new DirectMessenger(matrix, pool ? new PgDmRoomsTable(pool) : new DmRoomsTable(db), log);
    const tls = new HookTls(tlsTable, config.delivery.tlsProfiles);
    const { accepted } = roomStores;
    const lastFailures = new LastFailures();
    const outbound = new OutboundHooks({
      matrix, table, signingKeys, queue, messenger, guard, log, tls, lastFailures, accepted,
      configuredMinimumLevel: config.permissions.commandPowerLevel,
      signingKeyGraceMs: config.delivery.signingKeyGraceHours * 3_600_000,
      // The bots are made just below, before any room is loaded.
      botGhosts: { added: (bot): Promise<void> => bots.added(bot), removed: (bot): void => bots.removed(bot) },
      // The callbacks are made below, before any room is loaded.
      beforeHookNote: (roomId) => callbacks.beforeHookNote(roomId),
    });
    const bots: WebhookBots = new WebhookBots({ registry: outbound.registry, rooms: new BotRooms(), ghosts: matrix, inviteAllowList: config.permissions.invite, log });
    const notifier = new RoomNotifier(matrix, log);
    // The functions tell each failure once per digest themselves (force); the notifier groups them with the room's other notices.
    const transforms = new TransformationFunctions({ ...config.inbound.transformationFunctions, limits: config.inbound.transformationFunctions, log,
      notify: (roomId, text) => void notifier.notify(roomId, "transformation", text, Date.now(), { force: true }) });
    const inbound = createInbound({ config, matrix, db, pool, messenger, guard, metrics, log, transforms, accepted, hookChanged });
    const chat = createChat({ config, matrix, db, pool, registry: outbound.registry, bots, guard, userAgent: USER_AGENT, log,
      // The delivery targets tell the room; they are made below, before any delivery runs.
      onMalformed: (target, reason) => targets.malformedReply(target.hook.id, reason),
      ...(plan.postsReplies ? {} : { announceReplies: () => changes.publish({ kind: "replies" }) }),
    });
    const sender = new HttpSender(config.delivery.maxResponseBodyBytes, guard);
    const downloader = new MediaDownloader(config.homeserver.url, registration.asToken);
    const mediaLimits = { maxBytes: config.media.maxBytes, tempDir: config.media.tempDir };
    const mediaLinks = config.bridge.publicUrl ? new MediaLinks(config.store.encryptionKeyBytes, config.bridge.publicUrl, config.media.linkTtlSeconds) : null;
    const targets = new OutboundDeliveryTargets(outbound.registry, table, signingKeys, notifier, log, {
      metrics,
      messenger,
      failureNotices: { afterAttempts: config.delivery.failureNoticeAfterAttempts, toOwner: config.delivery.failureNoticeToOwner },
      tls,
      lastFailures,
    });
    const callbacks = createCallbacks({
      config, matrix, registry: outbound.registry, bots, queue, sender, targets, notifier, metrics, log, userAgent: USER_AGENT,
      token: (hookId) => table.token(hookId),
      tls,
      mediaLink: mediaLinks ? (jobKey) => mediaLinks.link(jobKey) : null,
    });
    const snapshots = new RoomSnapshots(roomStores.snapshots, log);
    const router = new EventRouter({
      matrix, outbound, inbound: inbound.hooks, queue, inviteAllowList: config.permissions.invite, commandPrefix: COMMAND_PREFIX, log,
      onStateEvent: (event) => chat.directory.observe(event),
      bots,
      beforeSend: callbacks.fallback,
      snapshots,
      ...(encryption ? { encryption: encryption.router } : {}),
      // Alone (role all) nobody follows this process's rooms.
      ...(plan.alone ? {} : { onRoomChanged: (roomId: string) => changes.publish({ kind: "room", id: roomId }) }),
      // Beside other appservice processes, a room's hooks may have changed through another one (its transactions).
      ...(config.bridge.role === "appservice" ? { catchUp: (roomIds: Iterable<string>) => follower.catchUp(roomIds), versionsSeen: (roomIds: Iterable<string>) => follower.versionsSeen(roomIds) } : {}),
    });
    // Rooms changed through another process (its transactions, its commands) are read here again.
    const follower: RoomFollower = new RoomFollower({
      accepted,
      followers: [outbound, inbound.hooks],
      members: { wanted: () => outbound.registry.hasBots(), read: (roomId) => matrix.roomState(roomId), loaded: (roomId, state) => bots.roomLoaded(roomId, state) },
      log,
    });
    // What another process changed in a hook's secrets: this process's copies go, read again when next needed.
    const reloadHook = (hookId?: string): void => {
      Promise.all([table.reload(hookId), signingKeys.reload(hookId), tls.reload(hookId)])
        .catch((err: unknown) => log.warn({ hookId, err: err instanceof StoreUnavailableError ? err.logged() : err }, "could not read a hook another process changed; this process keeps its copy until the next change"));
    };
    changes.onChange((change) => {
      switch (change.kind) {
        case "room": return follower.reload(change.id);
        case "hook":
          reloadHook(change.id);
          inbound.forgetCached(change.id);
          return;
        case "replies": return plan.postsReplies ? chat.poster.kick() : undefined;
        case "resync":
          reloadHook();
          inbound.forgetCached();
          if (plan.postsReplies) chat.poster.kick();
          // A follow reads the inbound store (PostgreSQL): its failure must not become an unhandled rejection.
          return void follower.loadAll().catch((err: unknown) => log.warn({ err }, "could not follow the rooms again after a resync; each is followed again at its next change"));
      }
    });
    const renderer = new DeliveryRenderer(downloader, {
      ...mediaLimits,
      includeThumbnail: config.media.includeThumbnail,
      mediaLink: mediaLinks ? (jobId) => mediaLinks.link(jobId) : null,
      defaultFormat: config.delivery.defaultFormat,
    });
    const worker = new DeliveryWorker({
      queue,
      sender,
      targets,
      bodies: new HookBodies(renderer, chat.renderer, config.replies.maxBytes, callbacks.requests, transforms),
      answers: new FormatAnswers(chat.replies, callbacks.answers),
      policy: {
        retries: config.delivery.retries,
        scheduleSeconds: config.delivery.retrySchedule,
        jitter: config.delivery.jitter,
        maxRetryAfterSeconds: config.delivery.maxRetryAfterSeconds,
      },
      timeoutMs: config.delivery.timeoutSeconds * 1000,
      concurrency: config.delivery.concurrency,
      disableAfterFailingMs: config.delivery.disableAfterFailingHours * 3_600_000,
      userAgent: USER_AGENT,
      metrics,
      log,
      knownHooksOnly: !plan.answersHomeserver,
    });

    // Commands and membership work wait until the joined rooms' hooks are loaded; what a previous
    // run acknowledged but did not finish goes first.
    let roomsLoaded!: () => void;
    router.holdFollowUpsUntil(new Promise<void>((resolve) => (roomsLoaded = resolve)));
    const resumed = plan.answersHomeserver ? await router.resumeFollowUps() : 0;
    if (resumed > 0) log.info({ followUps: resumed }, "resuming commands and membership changes that the previous run acknowledged but did not finish");

    const app = createHttpApp({
      routers: [
        ...(plan.answersHomeserver ? [appserviceRouter({ hsToken: registration.hsToken, sink: router, log, metrics }), callbacks.precheckRouter] : []),
        ...(plan.servesInbound ? [inbound.router] : []),
        ...(mediaLinks && plan.servesInbound ? [mediaLinkRouter({ links: mediaLinks, queue, downloader, limits: mediaLimits, log })] : []),
      ],
      metrics: config.metrics.enabled ? metrics : null,
      log,
      health: async () => ({ ok: true, detail: { queueDepth: await queue.depth() } }),
    });
    const server = await listen(app, config.bridge.port, config.bridge.bindAddress);
    const port = (server.address() as AddressInfo).port;
    inbound.listeningOn(port);
    // From here on transactions are answered; each waits until its rooms' hooks are loaded.
    // A process that does not answer them follows the rooms instead (read-only).
    const loading = plan.answersHomeserver ? router.loadJoinedRooms(ROOMS_LOADED_AT_ONCE) : follower.loadAll();
    // A URL sent by DM a moment ago may name a hook whose notice has not come yet: the accepted state is read first.
    if (!plan.answersHomeserver) {
      inbound.hooks.waitForRooms((roomId) => follower.catchUp([roomId]));
    }
    const retentionMs = config.delivery.retentionDays * 86_400_000;
    let pruning = false;
    const prune = () => {
      if (pruning) return; // the previous run is still going (a very large backlog)
      pruning = true;
      const cutoff = Date.now() - retentionMs;
      queue
        .prune(cutoff)
        .then(() => inbound.prune(cutoff))
        .then(() => chat.table.prune(cutoff))
        .then(() => encryption?.events.expire(cutoff))
        .catch((err: unknown) => log.error({ err }, "pruning old deliveries failed"))
        .finally(() => (pruning = false));
    };
    // One role prunes the shared store: the one every deployment runs.
    const pruneTimer = setInterval(() => plan.answersHomeserver && prune(), Math.min(retentionMs, 3_600_000));
    pruneTimer.unref();
    // With several appservice processes, one that died leaves commands acknowledged and not run:
    // the others take them over (docs/postgres.md, "Several processes").
    const adoptTimer = plan.answersHomeserver && config.bridge.role !== "all" ? setInterval(() => {
      router.resumeFollowUps().then(
        (n) => n > 0 && log.info({ followUps: n }, "took over commands and membership changes a stopped appservice process acknowledged"),
        (err: unknown) => log.warn({ err }, "could not look for the follow-ups of stopped appservice processes; trying again in 10 s"),
      );
    }, 10_000) : null;
    adoptTimer?.unref();
    const bridge = new WebhookBridge(port, router, outbound, server, worker, chat.poster, closeQueue, sender, downloader, matrix, db, log, adoptTimer ? [pruneTimer, adoptTimer] : [pruneTimer], checkpointer, inbound, transforms, snapshots, encryption, follower, targets);
    if (plan.answersHomeserver) prune();
    try {
      const rooms = await loading;
      log.info({ rooms }, "loaded joined rooms");
      // The bots are known now: the DM rooms their ghosts are in (the bridge bot is not) load next.
      if (plan.delivers || plan.answersHomeserver) await bots.loadGhostRooms();
    } catch (err) {
      roomsLoaded();
      await bridge.stop().catch(() => undefined);
      throw new Error(`Cannot list the rooms the bot is in: ${(err as Error).message}`, { cause: err });
    }
    roomsLoaded();
    // Encrypted events kept for their keys: some may have come while this process was away.
    void encryption?.events.retryAll();
    if (plan.delivers) worker.start();
    // Replies and inbound posts stored by a previous run and not posted yet go out now.
    if (plan.postsReplies) chat.poster.kick();
    if (plan.servesInbound) inbound.startPosting();
    // The homeserver holds back what it could not deliver while the bridge was away, retrying after
    // a back-off of up to minutes; a ping makes a current Synapse send that now.
    if (plan.answersHomeserver) await matrix.ping().then(
      (outcome) => log.info({ outcome }, outcome === "unsupported" ? "the homeserver has no appservice ping (older than Matrix 1.7); it retries held transactions after its own back-off" : "pinged the homeserver (a current Synapse retries the transactions it held back at once)"),
      (err: unknown) => log.warn({ err }, "could not ping the homeserver; it retries held transactions after its own back-off"),
    );
    log.info({ port, bot: matrix.botUserId, role: config.bridge.role }, "webhook bridge started");
    return bridge;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.snapshots.stop();
    await this.follower.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.worker.stop();
    // The failure and recovery notices of the last attempts, and their records in the store.
    await Promise.race([this.targets.idle(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.replies.stop();
    await this.inbound.stop();
    await this.transforms.stop();
    // Commands under way finish (bounded) while the queue can still store what they do and mark
    // them done; one still running after that runs again at the next start.
    await Promise.race([Promise.all([this.router.idle(), this.router.snapshotCheck, this.encryption?.events.idle()]), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await this.closeQueue();
    await this.sender.close();
    await this.downloader.close();
    await this.matrix.stop();
    await this.encryption?.devices.stop();
    await this.checkpointer.stop();
    this.db.close();
    this.log.info("webhook bridge stopped");
  }
}
