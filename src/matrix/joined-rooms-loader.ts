import type { Logger } from "../observability/logger.js";

/**
 * Loads the hooks of the rooms the bot is in when the bridge starts, a few rooms at a time. While
 * it runs, an event of a room not loaded yet waits for that room (loaded at once, ahead of the
 * others, and only once): no event is acknowledged before the bridge knows its room's hooks.
 */
export class JoinedRoomsLoader {
  private joined: ReadonlySet<string> | null = null;
  private listing: Promise<void> | null = null;
  private readonly loads = new Map<string, Promise<void>>();
  private finished = false;

  constructor(
    private readonly loadRoom: (roomId: string) => Promise<unknown>,
    private readonly opts: { concurrency: number; log: Logger },
  ) {}

  /**
   * Lists the joined rooms and loads each, `concurrency` at a time. A room that fails to load is
   * logged and counts as loaded (without hooks). Rejects only when the rooms cannot be listed.
   */
  async loadAll(listRooms: () => Promise<string[]>): Promise<number> {
    let rooms: string[] = [];
    this.listing = listRooms().then((list) => {
      rooms = list;
      this.joined = new Set(list);
    });
    try {
      await this.listing;
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < rooms.length) await this.loadOnce(rooms[next++]!);
      };
      await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency) }, lane));
      return rooms.length;
    } finally {
      this.finished = true;
      this.loads.clear();
    }
  }

  /**
   * While loading: a promise that settles once the room's hooks are known (it rejects only when the
   * joined rooms could not be listed). Null when nothing is to wait for: loading is over, or the
   * room is not one of those being loaded (a room the bot joins now is loaded by its invite).
   */
  loaded(roomId: string): Promise<void> | null {
    if (this.finished || this.listing === null) return null;
    if (this.joined === null) return this.listing.then(() => this.loaded(roomId) ?? undefined);
    return this.joined.has(roomId) ? this.loadOnce(roomId) : null;
  }

  /** True until every joined room was tried. */
  get loading(): boolean {
    return !this.finished;
  }

  private loadOnce(roomId: string): Promise<void> {
    let load = this.loads.get(roomId);
    if (!load) {
      load = this.loadRoom(roomId).then(
        () => undefined,
        (err: unknown) => this.opts.log.error({ err, roomId }, "could not load the room's hooks"),
      );
      this.loads.set(roomId, load);
    }
    return load;
  }
}
