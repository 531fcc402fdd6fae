import type { Logger } from "../observability/logger.js";

export interface JoinedRoomsLoaderOptions {
  concurrency: number;
  log: Logger;
  /** Waits between the tries of a room whose load failed for now (default 0.5 s, then 2 s). */
  retryDelaysMs?: readonly number[];
}

/**
 * Loads the hooks of the rooms the bot is in when the bridge starts, a few rooms at a time. While
 * it runs, an event of a room not loaded yet waits for that room (loaded at once, ahead of the
 * others, and only once): no event is acknowledged before the bridge knows its room's hooks.
 *
 * A room whose load fails for now (homeserver error, timeout, rate limit) is tried again; one that
 * still fails stays "not loaded": its events make their transaction fail (the homeserver retries
 * it) and each ask tries the room once more, after loading ended too. A room the homeserver refuses
 * for good (4xx other than 429: the bot was removed while away) counts as loaded without hooks.
 */
export class JoinedRoomsLoader {
  private joined: ReadonlySet<string> | null = null;
  private listing: Promise<void> | null = null;
  private readonly loads = new Map<string, Promise<void>>();
  private readonly failed = new Set<string>();
  private finished = false;

  constructor(
    private readonly loadRoom: (roomId: string) => Promise<unknown>,
    private readonly opts: JoinedRoomsLoaderOptions,
  ) {}

  /**
   * Lists the joined rooms and loads each, `concurrency` at a time. Resolves with their number
   * once every room was tried; rejects only when the rooms cannot be listed.
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
        while (next < rooms.length) await this.loadOnce(rooms[next++]!, this.opts.retryDelaysMs ?? [500, 2000]).catch(() => undefined);
      };
      await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency) }, lane));
      if (this.failed.size > 0) this.opts.log.warn({ rooms: this.failed.size }, "rooms whose hooks could not be loaded; their events are refused (the homeserver retries) until they load");
      return rooms.length;
    } finally {
      this.finished = true;
    }
  }

  /**
   * A promise that settles once the room's hooks are known, or null when there is nothing to wait
   * for: loading is over and the room loaded, or the room is not one of those being loaded (a
   * room the bot joins now is loaded by its invite). It rejects when the room could not be loaded
   * (or the joined rooms could not be listed): the caller must not acknowledge its events.
   */
  loaded(roomId: string): Promise<void> | null {
    if (this.failed.has(roomId)) return this.loadOnce(roomId, []);
    if (this.finished || this.listing === null) return null;
    if (this.joined === null) return this.listing.then(() => this.loaded(roomId) ?? undefined);
    return this.joined.has(roomId) ? this.loadOnce(roomId, this.opts.retryDelaysMs ?? [500, 2000]) : null;
  }

  /** True while events may have to wait: rooms are loading, or some could not be loaded. */
  get loading(): boolean {
    return !this.finished || this.failed.size > 0;
  }

  private loadOnce(roomId: string, retryDelaysMs: readonly number[]): Promise<void> {
    let load = this.loads.get(roomId);
    if (!load) {
      load = this.tryLoad(roomId, retryDelaysMs).finally(() => {
        // Kept while loading (each room once); a failed one is tried again when next asked.
        if (this.finished || this.failed.has(roomId)) this.loads.delete(roomId);
      });
      this.loads.set(roomId, load);
    }
    return load;
  }

  private async tryLoad(roomId: string, retryDelaysMs: readonly number[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.loadRoom(roomId);
        this.failed.delete(roomId);
        return;
      } catch (err) {
        if (refusedForGood(err)) {
          this.opts.log.warn({ err, roomId }, "the homeserver refuses the room's state; counted as a room without hooks");
          this.failed.delete(roomId);
          return;
        }
        const delay = retryDelaysMs[attempt];
        if (delay === undefined) {
          this.opts.log.error({ err, roomId }, "could not load the room's hooks");
          this.failed.add(roomId);
          throw new Error(`the hooks of ${roomId} could not be loaded yet`, { cause: err });
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** A 4xx answer other than 429 (e.g. M_FORBIDDEN: the bot is no longer in the room): no retry helps. */
export function refusedForGood(err: unknown): boolean {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 429;
}
