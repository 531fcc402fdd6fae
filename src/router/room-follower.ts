import { refusedForGood } from "../matrix/joined-rooms-loader.js";
import type { StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { AcceptedHooksStore } from "../store/accepted-hooks-table.js";

/** Rooms followed at once by loadAll: enough to overlap store round trips, few enough to keep the pool for deliveries. */
const FOLLOWED_AT_ONCE = 8;

/** What follows a room's hooks: outbound (and bots), inbound. */
export interface RoomFollowerDeps {
  accepted: Pick<AcceptedHooksStore, "rooms" | "version" | "versions">;
  /** Each reads the accepted rows and its store records (asynchronous on PostgreSQL). */
  followers: ReadonlyArray<{ followRoom(roomId: string): void | Promise<void> }>;
  /** The room's joined members, for the webhook bots' direct messages: read only while there are bots. */
  members?: {
    wanted(): boolean;
    read(roomId: string): Promise<StateEvent[]>;
    loaded(roomId: string, state: readonly StateEvent[]): void;
  };
  log: Logger;
  /** Waits before reading a room's members again after a failure (default 1 s, 5 s, 30 s). */
  retryDelaysMs?: readonly number[];
}

/**
 * The rooms' hooks in a process that does not receive (all of) the rooms' events: bridge.role
 * worker or inbound, or an appservice process beside others. They are built from the hook state
 * the appservice process accepted (AcceptedHooksStore), at start and whenever a room's version
 * changed: on a notice from another process, or before a transaction of the room is routed.
 * Nothing is written here: the process that accepted the state owns the store's records.
 */
export class RoomFollower {
  /** Each room's version as last followed (or as written by this process itself). */
  private readonly seen = new Map<string, number>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly readAgain = new Set<string>();
  /** Follows under way, so stop waits for them (they read the store, which closes after). */
  private readonly following = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: RoomFollowerDeps) {}

  /**
   * Follows every room with accepted hooks, a few at a time (the inbound follower reads the store:
   * one PostgreSQL query per room with inbound hooks). A room whose follow fails is logged and left
   * unseen, so a later catch-up or change follows it again; the others go on. Resolves with their number.
   */
  async loadAll(): Promise<number> {
    const rooms = await this.deps.accepted.rooms();
    // Rooms whose hooks all went while this process was away (or deaf).
    const listed = new Set(rooms);
    const unlisted = [...this.seen.keys()].filter((roomId) => !listed.has(roomId));
    const versions = await this.deps.accepted.versions(unlisted);
    const gone = unlisted.filter((roomId) => (versions.get(roomId) ?? 0) !== this.seen.get(roomId));
    const all = [...rooms, ...gone];
    let next = 0;
    let failed = 0;
    const lane = async (): Promise<void> => {
      while (next < all.length && !this.stopped) {
        const roomId = all[next++]!;
        await this.follow(roomId).catch((err: unknown) => {
          if (failed++ < 10) this.deps.log.warn({ err, roomId }, "could not follow a room's hooks; followed again at its next change or request");
        });
        if (next % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(Array.from({ length: Math.min(FOLLOWED_AT_ONCE, all.length) }, lane));
    if (failed > 10) this.deps.log.warn({ failed }, "rooms whose hooks could not be followed at start");
    return rooms.length;
  }

  /** Another process changed the room (its hooks, or the members of a bot's room): followed now, members read again. */
  reload(roomId: string): void {
    if (this.stopped) return;
    // Not followed (the store failed): its version stays unseen, so the next catch-up or change follows it again.
    this.follow(roomId).catch((err: unknown) => this.deps.log.warn({ err, roomId }, "could not follow a room another process changed; followed again at its next change"));
    if (this.deps.members?.wanted()) this.readMembers(roomId);
  }

  /** Before routing events of these rooms: any another process changed since is followed first (resolves once they are). */
  async catchUp(roomIds: Iterable<string>): Promise<void> {
    // One read for all of them: this runs before every transaction of an appservice process beside others.
    const rooms = [...new Set(roomIds)];
    const versions = await this.deps.accepted.versions(rooms);
    const changed = rooms.filter((roomId) => (versions.get(roomId) ?? 0) !== (this.seen.get(roomId) ?? 0));
    await Promise.all(changed.map((roomId) => this.follow(roomId)));
  }

  /**
   * The rooms' versions as last followed (0: never), for a store that checks them (see
   * DeliveryQueue.storeNewTransaction): read before the events are routed, so that a follow
   * finishing meanwhile makes them older than the hooks used, never newer.
   */
  versionsSeen(roomIds: Iterable<string>): Map<string, number> {
    const versions = new Map<string, number>();
    for (const roomId of roomIds) versions.set(roomId, this.seen.get(roomId) ?? 0);
    return versions;
  }

  /** This process changed the room's accepted hooks itself, which made `version`: nothing to follow. */
  noteOwnChange(roomId: string, version: number): void {
    // A later version seen already (followed meanwhile) stays.
    if ((this.seen.get(roomId) ?? 0) < version) this.seen.set(roomId, version);
  }

  /** Stops; a members read under way is given up to 5 s (one waiting to be tried again is not waited for). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.race([Promise.allSettled([...this.reading.values(), ...this.following]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }

  /** The version is read first: a change made while the followers read is followed again next time. */
  private follow(roomId: string): Promise<void> {
    const run = (async () => {
      const version = await this.deps.accepted.version(roomId);
      for (const follower of this.deps.followers) await follower.followRoom(roomId);
      this.seen.set(roomId, version);
    })();
    this.following.add(run);
    void run.finally(() => this.following.delete(run)).catch(() => undefined);
    return run;
  }

  /** Once at a time per room; a change heard meanwhile reads it once more. */
  private readMembers(roomId: string): void {
    if (this.reading.has(roomId)) {
      this.readAgain.add(roomId);
      return;
    }
    const run = this.readWithRetries(roomId).finally(() => {
      this.reading.delete(roomId);
      if (this.readAgain.delete(roomId) && !this.stopped) this.readMembers(roomId);
    });
    this.reading.set(roomId, run);
  }

  private async readWithRetries(roomId: string): Promise<void> {
    const members = this.deps.members!;
    const delays = this.deps.retryDelaysMs ?? [1000, 5000, 30_000];
    for (let attempt = 0; ; attempt++) {
      try {
        members.loaded(roomId, await members.read(roomId));
        return;
      } catch (err) {
        const delay = refusedForGood(err) ? undefined : delays[attempt];
        if (delay === undefined || this.stopped) {
          this.deps.log.warn({ err, roomId }, "could not read the room's members for the webhook bots; read again at its next change");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        if (this.stopped) return;
      }
    }
  }
}
