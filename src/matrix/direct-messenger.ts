import type { Logger } from "../observability/logger.js";
import type { DmRoomsStore } from "../store/dm-rooms-table.js";
import { CoalescingSender } from "./coalescing-sender.js";
import type { MatrixPort } from "./port.js";

/**
 * Sends private messages (secrets shown once) to a user in a DM room with the bot, reusing the
 * room while the user is still in it or invited to it.
 */
export class DirectMessenger {
  // Per user, the send under way: rooms load concurrently at start, and two first messages to one
  // user must not create two DM rooms.
  private readonly sending = new Map<string, Promise<unknown>>();
  private readonly notices = new CoalescingSender<string>((userId, text) => this.send(userId, text));

  constructor(
    private readonly matrix: MatrixPort,
    private readonly rooms: DmRoomsStore,
    private readonly log: Logger,
  ) {}

  /**
   * A notice (not a secret): those made while one is on its way to the user go together in the
   * next message, so a hundred of the user's hooks failing at once are not a hundred DMs.
   */
  notify(userId: string, text: string): Promise<void> {
    return this.notices.enqueue(userId, text);
  }

  send(userId: string, text: string, html?: string): Promise<void> {
    const previous = this.sending.get(userId) ?? Promise.resolve();
    const sent = previous.catch(() => undefined).then(async () => {
      const roomId = await this.roomFor(userId);
      await this.matrix.sendNotice(roomId, text, html);
    });
    this.sending.set(userId, sent);
    void sent.catch(() => undefined).finally(() => {
      if (this.sending.get(userId) === sent) this.sending.delete(userId);
    });
    return sent;
  }

  private async roomFor(userId: string): Promise<string> {
    const known = await this.rooms.get(userId);
    if (known) {
      const membership = await this.matrix.membership(known, userId).catch(() => null);
      if (membership === "join" || membership === "invite") return known;
      this.log.info({ userId, roomId: known }, "user left the DM room; creating a new one");
    }
    const roomId = await this.matrix.createDirectRoom(userId);
    let recorded: string;
    try {
      recorded = await this.rooms.claim(userId, known, roomId);
    } catch (err) {
      // A room made but not recorded (the store failed) is made again next time; the send goes on.
      this.log.warn({ err, userId }, "could not record the DM room; a new one is made next time");
      return roomId;
    }
    if (recorded === roomId) return roomId;
    // Another process made the user a DM room at the same moment and recorded it first: that one
    // is the user's, and the bot leaves the one it made (the user gets an invite that goes away).
    this.log.info({ userId, roomId, kept: recorded }, "another bridge process made the user's DM room at the same time; using that one");
    this.matrix.leaveRoom(roomId, "another DM room with you is used").catch((err: unknown) => this.log.warn({ err, userId, roomId }, "could not leave a DM room made twice"));
    return recorded;
  }
}
