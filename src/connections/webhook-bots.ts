import { ghostLocalpart } from "../inbound/ghost.js";
import { BOT_ID_PREFIX } from "../store/outbound-hooks-table.js";
import type { InboundGhosts, RoomEvent, StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import { isDirectRoom, type BotIdentity } from "../outbound/bot-trigger.js";
import type { ChatTrigger } from "../outbound/formats/chat/chat-format.js";
import { chatFormat, isChatFormatName } from "../outbound/formats/chat/index.js";
import type { BotCandidate } from "../outbound/match.js";
import type { BotRooms } from "./bot-rooms.js";
import { mayInvite } from "./invite-permission.js";
import type { BotGhostLifecycle } from "./outbound-hooks.js";
import type { ActiveOutboundHook, OutboundHookRegistry } from "./outbound-hook-registry.js";

/** What bots' ghosts do beyond inbound ghosts: join rooms they are invited to, see who is there. */
export interface BotGhostPort extends Pick<InboundGhosts, "ghostUserId" | "ensureGhostProfile" | "ensureGhostJoined" | "ensureGhostRoomProfile"> {
  /** Joins as the ghost (it was invited); no invite by the bridge bot, which may not be in the room. */
  joinAsGhost(userId: string, roomId: string): Promise<void>;
  leaveAsGhost(userId: string, roomId: string, reason?: string): Promise<void>;
  /** The room's joined members, read by the ghost (the bridge bot may not be in the room). */
  ghostJoinedMembers(userId: string, roomId: string): Promise<string[]>;
  ghostJoinedRooms(userId: string): Promise<string[]>;
}

export interface WebhookBotsDeps {
  registry: OutboundHookRegistry;
  rooms: BotRooms;
  ghosts: BotGhostPort;
  /** config permissions.invite: who may invite a bot into a DM. */
  inviteAllowList: readonly string[];
  log: Logger;
}

/**
 * Webhook bots' ghosts in rooms: each bot's ghost (display name = the bot's name) joins the room
 * the bot is added to and leaves when it is removed; it joins a DM room it is invited to when the
 * inviter may use bots and the bot's format answers DMs. Hands match the bots whose ghost is in
 * an event's room, and the renderer a bot's identity and whether a room is a DM with it.
 */
export class WebhookBots implements BotGhostLifecycle {
  constructor(private readonly deps: WebhookBotsDeps) {}

  /** A state event of a transaction (membership changes). */
  observe(event: RoomEvent): void {
    this.deps.rooms.observe(event);
  }

  /** A room's state as read when the bridge loads it: its joined members. */
  roomLoaded(roomId: string, state: readonly StateEvent[]): void {
    this.deps.rooms.loadState(roomId, state);
  }

  ghostOf(bot: Pick<ActiveOutboundHook, "id" | "name">): BotIdentity {
    return { userId: this.deps.ghosts.ghostUserId(ghostLocalpart(bot.id)), displayName: bot.name };
  }

  /** The bot whose ghost this user is, if any. */
  botOfGhost(userId: string): ActiveOutboundHook | undefined {
    for (const bot of this.deps.registry.bots()) if (this.ghostOf(bot).userId === userId) return bot;
    return undefined;
  }

  /** The bots whose ghost is joined to the room, with what match needs to know of it. */
  candidates(roomId: string): BotCandidate[] {
    const { registry, rooms } = this.deps;
    const found: BotCandidate[] = [];
    for (const bot of registry.bots()) {
      const ghost = this.ghostOf(bot);
      if (!rooms.isJoined(roomId, ghost.userId)) continue;
      found.push({ bot, ghost, room: { ghostJoined: true, joinedMembers: rooms.joinedMembers(roomId) }, allowsDirectMessages: allowsDirectMessages(bot) });
    }
    return found;
  }

  /** Whether the event's room is a DM between its sender and the bot. */
  isDirect(bot: ActiveOutboundHook, event: RoomEvent): boolean {
    return isDirectRoom(this.deps.rooms.joinedMembers(event.room_id), event.sender, this.ghostOf(bot).userId);
  }

  /** The trigger a bot's delivery had, worked out again at send time. */
  triggerAtSend(bot: ActiveOutboundHook, event: RoomEvent): ChatTrigger {
    return this.isDirect(bot, event) ? { kind: "direct-message" } : { kind: "mention" };
  }

  /** The bot was added (or changed, or loaded at start): its ghost gets its name and joins the bot's room. */
  async added(bot: ActiveOutboundHook): Promise<void> {
    const { ghosts, rooms } = this.deps;
    const ghost = this.ghostOf(bot);
    // Already there (loaded at start, or a change of URL): its name is the state key, so its look cannot have changed.
    if (rooms.isJoined(bot.roomId, ghost.userId)) return;
    const profile = { displayName: bot.name, avatarUrl: null };
    await ghosts.ensureGhostProfile(ghost.userId, profile);
    await ghosts.ensureGhostJoined(ghost.userId, bot.roomId);
    await ghosts.ensureGhostRoomProfile(ghost.userId, bot.roomId, profile);
    // Its join event comes in a later transaction; mentions work from now on.
    rooms.joined(bot.roomId, ghost.userId);
  }

  /** The bot is gone: its ghost leaves every room it is known to be in. */
  removed(bot: ActiveOutboundHook): void {
    const ghost = this.ghostOf(bot).userId;
    for (const roomId of new Set([bot.roomId, ...this.deps.rooms.roomsOf(ghost)])) {
      this.deps.ghosts.leaveAsGhost(ghost, roomId, `webhook bot "${bot.name}" was removed`).catch((err: unknown) =>
        this.deps.log.warn({ err, roomId, bot: bot.name }, "the removed bot's ghost could not leave the room"));
    }
  }

  /**
   * Whether an m.room.member event invites a bot's ghost (someone's, not the bridge's own invite).
   * Told by the ghost's name, not the registry: at start the bot's room may not be loaded yet, and
   * the invite must still become follow-up work (which finds the bot, or declines).
   */
  isBotInvite(event: RoomEvent, isBridgeUser: (userId: string) => boolean): boolean {
    return event.type === "m.room.member" && event.state_key !== undefined && event.content.membership === "invite"
      && !isBridgeUser(event.sender) && isBridgeUser(event.state_key) && event.state_key.startsWith(`@${ghostLocalpart(BOT_ID_PREFIX)}`);
  }

  /**
   * Someone invited a bot's ghost (a DM, usually): it joins when the inviter may use bots
   * (permissions.invite) and the bot's format answers DMs; otherwise it declines, saying why.
   */
  async onInvite(event: RoomEvent): Promise<void> {
    const { ghosts, rooms, log } = this.deps;
    const ghost = event.state_key!;
    const bot = this.botOfGhost(ghost);
    const fields = { roomId: event.room_id, inviter: event.sender, bot: bot?.name };
    const refusal = !bot ? "this webhook bot no longer exists"
      : !mayInvite(this.deps.inviteAllowList, event.sender) ? `${event.sender} is not allowed to invite this bridge's bots`
      : !allowsDirectMessages(bot) ? `webhook bot "${bot.name}" uses the ${bot.format} format, which does not answer direct messages`
      : null;
    if (refusal) {
      log.info({ ...fields, refusal }, "bot invite declined");
      await ghosts.leaveAsGhost(ghost, event.room_id, refusal);
      return;
    }
    await ghosts.joinAsGhost(ghost, event.room_id);
    rooms.setMembers(event.room_id, await ghosts.ghostJoinedMembers(ghost, event.room_id));
    log.info(fields, "bot joined a room it was invited to");
  }

  /**
   * At start: the rooms each bot's ghost is in that the bridge bot did not load (DMs), with their
   * members, so DMs keep working after a restart. A ghost that cannot be asked is logged and skipped.
   */
  async loadGhostRooms(): Promise<void> {
    const { ghosts, rooms, log } = this.deps;
    for (const bot of [...this.deps.registry.bots()]) {
      const ghost = this.ghostOf(bot).userId;
      try {
        for (const roomId of await ghosts.ghostJoinedRooms(ghost)) {
          if (rooms.joinedMembers(roomId) === null) rooms.setMembers(roomId, await ghosts.ghostJoinedMembers(ghost, roomId));
        }
      } catch (err) {
        log.warn({ err, bot: bot.name }, "could not list the rooms of a bot's ghost; its DMs answer once their members are seen again");
      }
    }
  }
}

function allowsDirectMessages(bot: ActiveOutboundHook): boolean {
  return isChatFormatName(bot.format) && chatFormat(bot.format).allowsDirectMessages;
}
