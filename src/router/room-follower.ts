import type { StateEvent } from "../matrix/port.js";
import { JoinedRoomsLoader, refusedForGood } from "../matrix/joined-rooms-loader.js";
import type { Logger } from "../observability/logger.js";

/** What follows a room's hooks: outbound (and bots), inbound, and the bots' view of its members. */
export interface RoomFollowerDeps {
  matrix: { joinedRooms(): Promise<string[]>; roomState(roomId: string): Promise<StateEvent[]> };
  followers: ReadonlyArray<{ followRoom(roomId: string, state: readonly StateEvent[]): Promise<void> }>;
  /** Members of the room, for the webhook bots' direct messages. */
  onState?: (roomId: string, state: readonly StateEvent[]) => void;
  log: Logger;
  /** Waits before trying a room again whose state could not be read (default 1 s, 5 s, 30 s). */
  retryDelaysMs?: readonly number[];
}

/**
 * The rooms' hooks in a process that does not answer the homeserver (role worker or inbound): read
 * from the rooms' state at start, and again whenever the appservice process says a room changed.
 * It writes nothing: the appservice process owns the store's records and tells the rooms.
 */
export class RoomFollower {
  private readonly reloading = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(private readonly deps: RoomFollowerDeps) {}

  /** Follows every room the bot is in, `concurrency` at a time; resolves with their number. */
  loadAll(concurrency: number): Promise<number> {
    const loader = new JoinedRoomsLoader((roomId) => this.follow(roomId), { concurrency, log: this.deps.log });
    this.loader ??= loader;
    return loader.loadAll(() => this.deps.matrix.joinedRooms());
  }

  /** While the first loadAll runs: a promise that settles once the room is followed (see JoinedRoomsLoader.loaded). */
  loaded(roomId: string): Promise<void> | null {
    return this.loader?.loaded(roomId) ?? null;
  }
  private loader: JoinedRoomsLoader | null = null;

  /** Reads the room's state again (once at a time per room; a change heard meanwhile reads it once more). */
  reload(roomId: string): void {
    if (this.stopped) return;
    if (this.reloading.has(roomId)) {
      this.again.add(roomId);
      return;
    }
    const run = this.reloadWithRetries(roomId).finally(() => {
      this.reloading.delete(roomId);
      if (this.again.delete(roomId)) this.reload(roomId);
    });
    this.reloading.set(roomId, run);
  }

  /**
   * For a request naming a hook the store has and this process does not (it may not have heard of
   * it yet): the room is read now, at most once per room every 5 s, and the promise settles when
   * done; null when it was read less than 5 s ago. During the first loadAll, as `loaded`.
   */
  refreshed(roomId: string, now = Date.now()): Promise<void> | null {
    const loading = this.loaded(roomId);
    if (loading) return loading;
    const last = this.refreshedAt.get(roomId);
    if (last !== undefined && now - last < 5000) return this.reloading.get(roomId) ?? null;
    if (this.refreshedAt.size >= 10_000) this.refreshedAt.clear(); // bounded: an entry only saves a read
    this.refreshedAt.set(roomId, now);
    this.reload(roomId);
    return this.reloading.get(roomId) ?? null;
  }
  private readonly refreshedAt = new Map<string, number>();

  /** This process was deaf for a while: every room is read again. */
  async reloadAll(concurrency: number): Promise<void> {
    await this.loadAll(concurrency).catch((err: unknown) => this.deps.log.warn({ err }, "could not list the bot's rooms to read their hooks again; each is read at its next change"));
  }

  /** Stops reading rooms; one being read is given up to 5 s (one waiting to be tried again is not waited for). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.race([Promise.all(this.reloading.values()), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }

  private async follow(roomId: string): Promise<void> {
    let state: StateEvent[];
    try {
      state = await this.deps.matrix.roomState(roomId);
    } catch (err) {
      if (!refusedForGood(err)) throw err;
      state = []; // the bot left the room (or was removed): its hooks are gone here too
    }
    this.deps.onState?.(roomId, state);
    for (const follower of this.deps.followers) await follower.followRoom(roomId, state);
  }

  private async reloadWithRetries(roomId: string): Promise<void> {
    const delays = this.deps.retryDelaysMs ?? [1000, 5000, 30_000];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.follow(roomId);
        return;
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined || this.stopped) {
          this.deps.log.error({ err, roomId }, "could not read the room's changed hooks; they are read at its next change or restart");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        if (this.stopped) return;
      }
    }
  }
}
