import { setImmediate } from "node:timers/promises";
import { dispatchCommand } from "../commands/dispatcher.js";
import { isCommandText } from "../commands/parse.js";
import type { InboundHooks } from "../connections/inbound-hooks.js";
import { INBOUND_HOOK_EVENT_TYPE } from "../connections/inbound-hook-state.js";
import { mayInvite } from "../connections/invite-permission.js";
import { KIND_LABEL, kindOfEventType, type OutboundHooks } from "../connections/outbound-hooks.js";
import type { WebhookBots } from "../connections/webhook-bots.js";
import type { BeforeSendFallback } from "../callbacks/before-send-fallback.js";
import type { DeliveryQueue, OutboundMessage, StoredTransaction, TransactionRecord } from "../delivery/queue/queue.js";
import type { Logger } from "../observability/logger.js";
import { hooksForEvent, outboundEventJson } from "../outbound/match.js";
import { JoinedRoomsLoader } from "../matrix/joined-rooms-loader.js";
import type { MatrixPort, RoomEvent, StateEvent } from "../matrix/port.js";
import { isRoomEvent, type TransactionSink } from "../matrix/transactions.js";
import type { RoomSnapshots } from "./room-snapshots.js";
import type { SnapshotPages } from "./snapshot-pages.js";
import { StoreUnavailableError } from "../store/store-unavailable.js";
import type { TransactionCrypto } from "../matrix/encryption/transaction-crypto.js";

/** Encrypted rooms (encryption.enabled): decrypts a transaction's events; see encrypted-events.ts. */
export interface RouterEncryption {
  decryptTransaction(events: readonly RoomEvent[], crypto: TransactionCrypto | null): Promise<RoomEvent[]>;
  /** The bot joined the room: its device learns the room's members. */
  joined(roomId: string): Promise<void>;
}

export interface EventRouterDeps {
  matrix: MatrixPort;
  outbound: OutboundHooks;
  inbound: InboundHooks;
  queue: DeliveryQueue;
  inviteAllowList: readonly string[];
  commandPrefix: string;
  log: Logger;
  /** Every state event of a transaction, e.g. for caches of room names and members. */
  onStateEvent?: (event: RoomEvent) => void;
  /** Webhook bots: which rooms their ghosts are in, and their invites. */
  bots?: WebhookBots;
  /** Before-hooks' verdicts on messages the Synapse module did not judge. */
  beforeSend?: BeforeSendFallback;
  /** The rooms' state kept in the store, so that a start needs no request per room. */
  snapshots?: RoomSnapshots;
  /** Without it, encrypted rooms are left (the bot says why). */
  encryption?: RouterEncryption;
  /** The bridge's users (the bot, bots' ghosts) joined or left the room: other processes read its members again. */
  onRoomChanged?: (roomId: string) => void;
  /** Before a transaction's events are routed: their rooms' hooks, as other processes may have changed them since. */
  catchUp?: (roomIds: Iterable<string>) => void | Promise<void>;
  /**
   * With catchUp: the rooms' versions of their hooks as catchUp last followed them. A transaction
   * handled in one round trip (handleIfNew) is then routed first, and the store checks the versions.
   */
  versionsSeen?: (roomIds: Iterable<string>) => ReadonlyMap<string, number>;
}

export const ENCRYPTION_UNAVAILABLE_NOTICE =
  "This room is end-to-end encrypted, and end-to-end encryption is not turned on for this webhook bridge " +
  "(its admin can set encryption.enabled), so its hooks would see nothing. I am leaving the room.";

/**
 * Sorts each event of a homeserver transaction: hook state is applied before later events are
 * matched, deliveries are stored in one queue write, and only then is the transaction acknowledged.
 * Commands and membership work run afterwards, in order.
 */
/** The kinds of work an event asks for after the homeserver's 200. */
type AfterAck = "command" | "bot-membership" | "encryption" | "redaction" | "webhook-bot-invite" | "before-send";

export class EventRouter implements TransactionSink {
  private followUps: Promise<void> = Promise.resolve();
  /** Settles when what holdFollowUpsUntil waits for is done (follow-ups that run beside the chain wait for it too). */
  private followUpsReady: Promise<void> = Promise.resolve();
  /**
   * Transactions with follow-ups whose store write failed without an answer (the writer thread
   * died): the commit may have happened. If the homeserver's retry finds one handled, its
   * follow-ups are in the store, and are queued then.
   */
  private readonly unanswered = new Set<string>();
  /** Follow-ups queued in `followUps` and not run yet, by event id. */
  private readonly queuedFollowUps = new Set<string>();
  // Set while the joined rooms' hooks load at start; events of a room wait until it is loaded.
  private rooms: JoinedRoomsLoader | null = null;
  /** The catch-up handledEvents started for the transaction handled next (transactions come one at a time). */
  private earlyCatchUp: { txnId: string; done: Promise<void> } | null = null;

  constructor(private readonly deps: EventRouterDeps) {}

  async handledEvents(txnId: string, events: readonly RoomEvent[] = []): Promise<ReadonlySet<string> | null> {
    // An appservice process beside others reads its rooms' hook versions before routing: that
    // read starts now, beside this one, so that a transaction waits for one round trip, not two.
    this.earlyCatchUp = null;
    if (this.deps.catchUp && events.length > 0 && !this.rooms?.loading) {
      const done = Promise.resolve(this.deps.catchUp(new Set(events.map((e) => e.room_id))));
      // Awaited by handle(); a duplicate transaction's is not, and its failure is nobody's.
      done.catch(() => undefined);
      this.earlyCatchUp = { txnId, done };
    }
    const handled = await this.deps.queue.handledEvents(txnId);
    if (handled && this.unanswered.delete(txnId)) await this.resumeFollowUps(txnId);
    return handled;
  }

  /**
   * Loads the hooks of every room the bot is in, `concurrency` rooms at a time; meanwhile each
   * transaction waits for its events' rooms (loaded first). Resolves with the number of rooms.
   */
  loadJoinedRooms(concurrency: number): Promise<number> {
    // A room saved by the previous run is served from its snapshot (no request) and checked later.
    // The saved rooms are known once the joined ones are listed; rooms are loaded only after that.
    let saved: ReadonlySet<string> = new Set<string>();
    let pages: SnapshotPages | null = null;
    const fromSnapshots: string[] = [];
    const rooms = new JoinedRoomsLoader(async (roomId) => {
      const state = await this.savedState(pages, roomId);
      if (!state) return this.loadRoom(roomId, "startup");
      // Saved state needs no I/O, so without this the loading would hold the event loop until
      // every room is done, and no transaction (nor /health) would be read meanwhile.
      await setImmediate();
      try {
        const loaded = await this.applyRoomState(roomId, state, "startup", { save: false });
        fromSnapshots.push(roomId);
        return loaded;
      } catch (err) {
        // Whatever in the saved state made it fail, the homeserver's state is what counts.
        this.deps.log.warn({ err: loggable(err), roomId }, "could not load the room from its saved state; reading it from the homeserver");
        await this.deps.snapshots!.forget(roomId);
        return this.loadRoom(roomId, "startup");
      }
    }, { concurrency, log: this.deps.log });
    this.rooms = rooms;
    // Inbound requests to a hook of a room not loaded yet wait for it too.
    this.deps.inbound.waitForRooms((roomId) => rooms.loaded(roomId));
    let joined: ReadonlySet<string> = new Set();
    return rooms.loadAll(async () => {
      const [list, savedRooms] = await Promise.all([this.deps.matrix.joinedRooms(), this.savedRooms()]);
      joined = new Set(list);
      saved = savedRooms;
      pages = this.deps.snapshots?.pages(list.filter((roomId) => savedRooms.has(roomId))) ?? null;
      return list;
    }).then(async (count) => {
      try {
        for (const roomId of saved) if (!joined.has(roomId)) await this.deps.snapshots?.forget(roomId);
      } catch (err) {
        this.deps.log.warn({ err: loggable(err) }, "could not drop the saved state of rooms the bot is no longer in; they are dropped at the next start");
      }
      this.snapshotCheck = fromSnapshots.length > 0 ? this.checkSnapshots(fromSnapshots) : null;
      return count;
    });
  }

  /** The rooms with a saved state; none when the store cannot say (every room is read from the homeserver). */
  private savedRooms(): Promise<ReadonlySet<string>> {
    return this.deps.snapshots?.savedRooms().catch((err: unknown) => {
      this.deps.log.warn({ err: loggable(err) }, "could not read which rooms have a saved state; every room is read from the homeserver");
      return new Set<string>();
    }) ?? Promise.resolve(new Set<string>());
  }

  /** A room's saved state at start, or null (none, or the store cannot say: the room is read from the homeserver). */
  private async savedState(pages: SnapshotPages | null, roomId: string): Promise<StateEvent[] | null> {
    return (await pages?.saved(roomId).catch((err: unknown) => {
      this.deps.log.warn({ err: loggable(err), roomId }, "could not read the room's saved state; reading it from the homeserver");
      return null;
    })) ?? null;
  }

  /** Set while the rooms served from snapshots are checked against the homeserver (after start). */
  snapshotCheck: Promise<number> | null = null;

  private checkSnapshots(roomIds: readonly string[]): Promise<number> {
    const { matrix, log } = this.deps;
    const started = Date.now();
    return this.deps.snapshots!.check(roomIds, (roomId) => matrix.roomState(roomId), (roomId, state) => this.applyRoomState(roomId, state, "startup", { save: false }))
      .then((differed) => {
        log.info({ rooms: roomIds.length, differed, ms: Date.now() - started }, "checked the rooms served from saved state against the homeserver");
        return differed;
      });
  }

  /**
   * Handles a transaction's events (of a re-used id: those not handled under it before, with
   * `earlier` the ids that were), storing everything in one commit before it resolves.
   */
  async handle(txnId: string, received: RoomEvent[], earlier: ReadonlySet<string> | null = null, crypto: TransactionCrypto | null = null): Promise<void> {
    await this.route(txnId, received, earlier, crypto, (record) => this.deps.queue.storeTransaction(record));
  }

  /**
   * Handles a transaction in one round trip where the queue checks the id as it stores it
   * (PostgreSQL: no handledEvents read first), for a transaction whose handling writes nothing
   * before the store — no state event, redaction or encryption — so that a seen id, for which
   * nothing is stored, leaves nothing done either. Resolves false when it did not handle it (not
   * such a transaction, a seen id, or rooms whose hooks another process changed): the caller then
   * handles it as usual, which brings those rooms' hooks up to date first (catchUp).
   */
  async handleIfNew(txnId: string, received: RoomEvent[], crypto: TransactionCrypto | null = null): Promise<boolean> {
    const { queue, catchUp, versionsSeen } = this.deps;
    if (!queue.storeNewTransaction || crypto || this.deps.encryption || !received.every(writesNothingBeforeStore)) return false;
    // Beside other appservice processes: the rooms' versions go with the store instead of a read before routing.
    const versions = catchUp && versionsSeen ? versionsSeen : null;
    let handled = true;
    await this.route(txnId, received, null, null, async (record, seen) => {
      const stored = await queue.storeNewTransaction!(record, seen ?? undefined);
      if ("seen" in stored || "stale" in stored) {
        handled = false;
        return null;
      }
      return stored;
    }, versions);
    return handled;
  }

  /**
   * Routes the events and stores them with `store` (null from it: nothing was stored, so nothing
   * more is done). With `versions`, the rooms' hooks are not brought up to date first (catchUp):
   * their versions, read before the events are routed, go to `store`, to be checked there.
   */
  private async route(
    txnId: string, received: RoomEvent[], earlier: ReadonlySet<string> | null, crypto: TransactionCrypto | null,
    store: (record: TransactionRecord, versions: ReadonlyMap<string, number> | null) => Promise<StoredTransaction | null>,
    versions: ((roomIds: Iterable<string>) => ReadonlyMap<string, number>) | null = null,
  ): Promise<void> {
    const { matrix, outbound, inbound } = this.deps;
    if (this.rooms?.loading) await this.roomsLoaded(received);
    const rooms = new Set(received.map((e) => e.room_id));
    // Read before routing: a follow that ends meanwhile makes them older than the hooks used, never newer.
    const seen = versions ? versions(rooms) : null;
    // Started by handledEvents for this transaction (its rooms are a superset of these), or now.
    const early = this.earlyCatchUp?.txnId === txnId ? this.earlyCatchUp.done : null;
    this.earlyCatchUp = null;
    if (!seen) await (early ?? this.deps.catchUp?.(rooms));
    // Encrypted events become their cleartext; one without its key yet is kept aside, in the store.
    const events = this.deps.encryption ? await this.deps.encryption.decryptTransaction(received, crypto) : received;
    const messages: OutboundMessage[] = [];
    const later: RoomEvent[] = [];
    for (const event of events) {
      if (event.state_key !== undefined) {
        // Saved before the transaction is stored: a crash in between makes the homeserver send it again.
        await this.deps.snapshots?.noteLive(event.room_id, event as StateEvent);
        this.deps.onStateEvent?.(event);
        this.deps.bots?.observe(event);
      } else if (event.type === "m.room.redaction") {
        const redacted = redactedEventId(event);
        if (redacted !== null) await this.deps.snapshots?.noteRedaction(event.room_id, redacted);
      }
      if (kindOfEventType(event.type) !== null && event.state_key !== undefined) await outbound.applyState(event.room_id, event as StateEvent, "live");
      else if (event.type === INBOUND_HOOK_EVENT_TYPE && event.state_key !== undefined) await inbound.applyState(event.room_id, event as StateEvent, "live");
      const after = this.afterAck(event, "store");
      if (after) later.push(event);
      // The bridge's own events and commands are not for the hooks; state only when a hook asks for its type.
      // A message before-hooks judge after the fact goes to the hooks once it is allowed (before-send-fallback.ts).
      if (after === "command" || after === "before-send" || matrix.isBridgeUser(event.sender)) continue;
      const hookIds = hooksForEvent(event, outbound.registry.forRoom(event.room_id), matrix.isBridgeUser.bind(matrix), this.deps.bots?.candidates(event.room_id));
      if (hookIds.length > 0) messages.push({ eventId: event.event_id, originTs: originTs(event), roomId: event.room_id, body: outboundEventJson(event), hookIds });
    }
    // The follow-ups are stored in the same commit: a crash after the 200 does not lose them.
    const eventIds = earlier ? [...earlier, ...received.map((e) => e.event_id)] : received.map((e) => e.event_id);
    let stored;
    try {
      stored = await store({ txnId, eventIds, messages, followUps: later.map((event) => ({ eventId: event.event_id, event: JSON.stringify(event) })) }, seen);
    } catch (err) {
      if (later.length > 0) {
        if (this.unanswered.size >= 1000) this.unanswered.clear(); // retries that never came
        this.unanswered.add(txnId);
      }
      throw err;
    }
    if (stored === null) return;
    this.unanswered.delete(txnId);
    if (this.deps.onRoomChanged) for (const roomId of roomsWithBridgeMembership(events, matrix.isBridgeUser.bind(matrix))) this.deps.onRoomChanged(roomId);
    // An event stored before (it came under another transaction id too) has its work run once.
    later.forEach((event, i) => stored.newFollowUps[i] && this.followUp(txnId, event.event_id, event));
  }

  async handleCrypto(crypto: TransactionCrypto): Promise<void> {
    await this.deps.encryption?.decryptTransaction([], crypto);
  }

  /** Waits until the rooms of these events have their hooks loaded (start-up only). */
  private async roomsLoaded(events: readonly RoomEvent[]): Promise<void> {
    const rooms = new Set(events.map((e) => e.room_id));
    await Promise.all([...rooms].map((roomId) => this.rooms?.loaded(roomId)));
  }

  /**
   * Queues the follow-up work a previous process acknowledged but did not finish (it stopped or
   * crashed in between), ahead of anything new; or only one transaction's. Returns how many were
   * queued (not those queued here already).
   */
  async resumeFollowUps(onlyTxnId?: string): Promise<number> {
    const pending = (await this.deps.queue.pendingFollowUps()).filter((f) => (onlyTxnId === undefined || f.txnId === onlyTxnId) && !this.queuedFollowUps.has(f.eventId));
    for (const { txnId, eventId, event: json } of pending) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(json);
      } catch {
        // Left as null: reported and forgotten below.
      }
      const event = isRoomEvent(parsed) ? parsed : null;
      if (!event) this.deps.log.error({ txnId, eventId }, "a stored follow-up is not a room event; dropped");
      this.followUp(txnId, eventId, event);
    }
    return pending.length;
  }

  /** Holds follow-up work (commands, membership) back until `ready` settles, e.g. until the joined rooms' hooks are loaded. */
  holdFollowUpsUntil(ready: Promise<unknown>): void {
    this.followUps = this.followUps.then(() => ready).then(
      () => undefined,
      () => undefined,
    );
    this.followUpsReady = this.followUps;
  }

  /** Resolves when the follow-up work queued so far has run (tests and shutdown use it). */
  idle(): Promise<void> {
    return this.followUps;
  }

  /**
   * What an event asks for after the acknowledgement: a command, the bot's own membership,
   * encryption turned on, a redaction (it may target a hook's state event; rooms' hooks may not be
   * loaded yet when this is asked, so every redaction counts), a message before-hooks judge after
   * the fact (decided when it is stored: a stored message follow-up that is no command is one).
   */
  private afterAck(event: RoomEvent, stage: "store" | "run"): AfterAck | null {
    const { matrix, commandPrefix } = this.deps;
    if (event.state_key !== undefined) {
      // The bot's own joins (and profile changes) ask for nothing: it joins by itself.
      if (event.type === "m.room.member" && event.state_key === matrix.botUserId && event.content.membership !== "join") return "bot-membership";
      // With encryption on, the devices took note of it already (encrypted-events.ts).
      if (event.type === "m.room.encryption") return this.deps.encryption ? null : "encryption";
      if (this.deps.bots?.isBotInvite(event, (u) => matrix.isBridgeUser(u))) return "webhook-bot-invite";
      return null;
    }
    if (matrix.isBridgeUser(event.sender)) return null;
    const { beforeSend } = this.deps;
    if (isCommand(event, commandPrefix)) {
      // A command is a message too: where before-hooks judge after the fact, it runs once allowed.
      const judged = beforeSend && (stage === "store" ? beforeSend.needed(event) : beforeSend.judges(event));
      return judged ? "before-send" : "command";
    }
    if (event.type === "m.room.redaction" && redactedEventId(event) !== null) return "redaction";
    if (beforeSend && (stage === "run" || beforeSend.needed(event))) return "before-send";
    return null;
  }

  private runAfterAck(kind: AfterAck, event: RoomEvent): Promise<void> {
    switch (kind) {
      case "command": return this.runCommand(event);
      case "bot-membership": return this.onBotMembership(event);
      case "encryption": return this.leaveEncryptedRoom(event.room_id);
      case "redaction": return this.onRedaction(event);
      case "webhook-bot-invite": return this.deps.bots!.onInvite(event);
      case "before-send": return this.deps.beforeSend!.run(event, isCommand(event, this.deps.commandPrefix) ? (allowed) => this.runCommand(allowed) : undefined);
    }
  }

  /** A redaction of the state event that configured a hook removes the hook (see removeRedacted). */
  private async onRedaction(event: RoomEvent): Promise<void> {
    const { matrix, outbound, inbound, log } = this.deps;
    const target = redactedEventId(event);
    if (target === null) return;
    const removedOutbound = await outbound.removeRedacted(event.room_id, target, event.sender);
    const removedInbound = removedOutbound === null ? await inbound.removeRedacted(event.room_id, target, event.sender) : null;
    const removed = removedOutbound !== null ? `${KIND_LABEL[removedOutbound.kind].toLowerCase()} "${removedOutbound.name}"` : removedInbound !== null ? `inbound hook "${removedInbound}"` : null;
    if (removed === null) return;
    log.info({ roomId: event.room_id, redactedBy: event.sender, removed }, "hook removed: its state event was redacted");
    await matrix.sendNotice(event.room_id, `Removed ${removed}: its configuration was redacted by ${event.sender}.`);
  }

  /**
   * Runs an event's follow-up work in order with the others (decided when its turn comes, after
   * the joined rooms are loaded), then forgets it in the store, whether it worked or not.
   */
  private followUp(txnId: string, eventId: string, event: RoomEvent | null): void {
    // Queued once: a resume for a re-used transaction id may name follow-ups already waiting here.
    if (this.queuedFollowUps.has(eventId)) return;
    this.queuedFollowUps.add(eventId);
    const kind = event && this.afterAck(event, "run");
    if (kind === "before-send") {
      // Not in line with commands: each waits up to its hooks' deadlines, and they run side by side.
      void this.afterFollowUpsReady(() => this.runAfterAck(kind, event!), txnId, eventId);
      return;
    }
    this.followUps = this.followUps
      .then(async () => {
        let ours = true;
        try {
          ours = await this.ownsFollowUp(eventId);
          if (ours && kind) await this.runAfterAck(kind, event!);
        } finally {
          // Marked done before it leaves the set: a resume meanwhile must not queue it again. One
          // not marked (the store failed) stays in the set: it runs again at the next start only.
          if (ours) await this.deps.queue.followUpDone(eventId);
          this.queuedFollowUps.delete(eventId);
        }
      })
      .catch((err) => this.deps.log.error({ err, txnId }, "follow-up work for an event failed"));
  }

  /** Runs follow-up work beside the chain, once the chain's start (the rooms' loading) is done. */
  private async afterFollowUpsReady(work: () => Promise<void>, txnId: string, eventId: string): Promise<void> {
    let ours = true;
    try {
      await this.followUpsReady;
      ours = await this.ownsFollowUp(eventId);
      if (ours) await work();
    } catch (err) {
      this.deps.log.error({ err, txnId }, "follow-up work for an event failed");
    } finally {
      const done = ours ? await this.deps.queue.followUpDone(eventId).then(() => true, (err: unknown) => {
        this.deps.log.error({ err, txnId }, "could not mark a follow-up done; it runs again at the next start");
        return false;
      }) : true;
      if (done) this.queuedFollowUps.delete(eventId);
    }
  }

  /** Another appservice process may have taken the follow-up over; when the store cannot say, it is run here (at least once). */
  private ownsFollowUp(eventId: string): Promise<boolean> {
    return this.deps.queue.ownsFollowUp(eventId).catch((err: unknown) => {
      this.deps.log.warn({ err, eventId }, "could not check whether another process took the follow-up over; running it here");
      return true;
    });
  }

  private async runCommand(event: RoomEvent): Promise<void> {
    const { matrix, outbound, inbound, commandPrefix, log } = this.deps;
    await dispatchCommand(event.content.body, {
      roomId: event.room_id,
      sender: event.sender,
      eventId: event.event_id,
      prefix: commandPrefix,
      matrix,
      outbound,
      inbound,
      reply: async (text, html) => void (await matrix.sendNotice(event.room_id, text, html)),
    }, log);
  }

  private async onBotMembership(event: RoomEvent): Promise<void> {
    const { matrix, outbound, inbound, log } = this.deps;
    const membership = event.content.membership;
    if (membership === "invite") {
      if (!mayInvite(this.deps.inviteAllowList, event.sender)) {
        log.info({ roomId: event.room_id, inviter: event.sender }, "invite refused by permissions.invite");
        await matrix.leaveRoom(event.room_id, `${event.sender} is not allowed to invite this bridge`);
        return;
      }
      await matrix.joinRoom(event.room_id);
      log.info({ roomId: event.room_id, inviter: event.sender }, "joined room");
      await this.deps.encryption?.joined(event.room_id).catch((err: unknown) => log.warn({ err, roomId: event.room_id }, "could not read the room's encryption settings and members; they are read when first needed"));
      if ((await this.loadRoom(event.room_id, "joined")) === "encrypted") return;
      await matrix.sendNotice(event.room_id, `Hello! I send this room's events to webhooks, and post webhooks into it. Send "${this.deps.commandPrefix} help" to see what I can do.`);
    } else if (membership === "leave" || membership === "ban") {
      await outbound.forgetRoom(event.room_id);
      await inbound.forgetRoom(event.room_id);
      await this.deps.snapshots?.forget(event.room_id);
      log.info({ roomId: event.room_id, membership }, "left room; its hooks are inactive");
    }
  }

  /**
   * Builds a joined room's outbound and inbound hooks from its state, read once (at start, or when
   * the bot joins); an encrypted room is left instead.
   */
  async loadRoom(roomId: string, origin: "startup" | "joined"): Promise<"loaded" | "encrypted"> {
    return this.applyRoomState(roomId, await this.deps.matrix.roomState(roomId), origin);
  }

  /** Builds the room's hooks from its state (read now, or saved by the previous run) and saves it. */
  private async applyRoomState(roomId: string, state: readonly StateEvent[], origin: "startup" | "joined", opts = { save: true }): Promise<"loaded" | "encrypted"> {
    if (isEncrypted(state) && !this.deps.encryption) {
      await this.leaveEncryptedRoom(roomId);
      return "encrypted";
    }
    this.deps.bots?.roomLoaded(roomId, state);
    await this.deps.outbound.loadRoom(roomId, state, origin);
    await this.deps.inbound.loadRoom(roomId, state, origin);
    if (opts.save) await this.deps.snapshots?.save(roomId, state);
    return "loaded";
  }

  async leaveEncryptedRoom(roomId: string): Promise<void> {
    const { matrix, outbound, log } = this.deps;
    log.warn({ roomId }, "room is encrypted and encryption.enabled is off; leaving");
    await matrix.sendNotice(roomId, ENCRYPTION_UNAVAILABLE_NOTICE).catch(() => undefined);
    await outbound.forgetRoom(roomId);
    await this.deps.inbound.forgetRoom(roomId);
    await this.deps.snapshots?.forget(roomId);
    await matrix.leaveRoom(roomId, "End-to-end encryption is not turned on for this bridge");
  }
}

/** Whether routing the event writes nothing before its transaction is stored (no saved room state, no redaction noted). */
function writesNothingBeforeStore(event: RoomEvent): boolean {
  return event.state_key === undefined && event.type !== "m.room.redaction";
}

/**
 * Rooms whose members other processes must read again after these events: the membership of the
 * bridge's users (the bot, bots' ghosts), for the webhook bots' direct messages. (A change of a
 * room's hooks is announced where it is recorded: AcceptedHooksStore.)
 */
function roomsWithBridgeMembership(events: readonly RoomEvent[], isBridgeUser: (userId: string) => boolean): Set<string> {
  const rooms = new Set<string>();
  for (const event of events) {
    if (event.type === "m.room.member" && event.state_key !== undefined && isBridgeUser(event.state_key)) rooms.add(event.room_id);
  }
  return rooms;
}

/** What a log may say of an error: a store failure's message and code only (StoreUnavailableError.logged). */
function loggable(err: unknown): unknown {
  return err instanceof StoreUnavailableError ? err.logged() : err;
}

function isEncrypted(state: readonly StateEvent[]): boolean {
  return state.some((e) => e.type === "m.room.encryption" && Object.keys(e.content ?? {}).length > 0);
}

// Never throws: a malformed command (an unclosed quote) is still one, answered by the dispatcher.
const isCommand = (event: RoomEvent, prefix: string): boolean => event.type === "m.room.message" && isCommandText(event.content.body, prefix);

/** The event's origin_server_ts as the store keys it: 0 when missing or not a whole number. */
function originTs(event: RoomEvent): number {
  return Number.isSafeInteger(event.origin_server_ts) ? event.origin_server_ts : 0;
}

/** The event a redaction redacts: top-level `redacts`, or `content.redacts` from room version 11. */
function redactedEventId(event: RoomEvent): string | null {
  const redacts = (event as { redacts?: unknown }).redacts ?? event.content.redacts;
  return typeof redacts === "string" ? redacts : null;
}
