import type { Logger } from "../observability/logger.js";
import type { DmRoomsTable } from "../store/dm-rooms-table.js";
import type { MatrixPort } from "./port.js";

/**
 * Sends private messages (secrets shown once) to a user in a DM room with the bot, reusing the
 * room while the user is still in it or invited to it.
 */
export class DirectMessenger {
  constructor(
    private readonly matrix: MatrixPort,
    private readonly rooms: DmRoomsTable,
    private readonly log: Logger,
  ) {}

  async send(userId: string, text: string, html?: string): Promise<void> {
    const roomId = await this.roomFor(userId);
    await this.matrix.sendNotice(roomId, text, html);
  }

  private async roomFor(userId: string): Promise<string> {
    const known = this.rooms.get(userId);
    if (known) {
      const membership = await this.matrix.membership(known, userId).catch(() => null);
      if (membership === "join" || membership === "invite") return known;
      this.log.info({ userId, roomId: known }, "user left the DM room; creating a new one");
    }
    const roomId = await this.matrix.createDirectRoom(userId);
    this.rooms.set(userId, roomId);
    return roomId;
  }
}
