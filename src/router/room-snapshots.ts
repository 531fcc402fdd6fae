import type { StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { RoomSnapshotsTable } from "../store/room-snapshots-table.js";
import { keptInSnapshot, sameSnapshot, snapshotOf, withStateEvent } from "./room-snapshot.js";

/** Rooms checked against the homeserver at once after a start from snapshots (live traffic goes first). */
const ROOMS_CHECKED_AT_ONCE = 2;

/**
 * The joined rooms' hook-relevant state, kept in the store so that a start needs no homeserver
 * request per room. Safe because the homeserver sends every event after the last acknowledged
 * transaction: a live state event is saved here before its transaction commits (a crash in between
 * makes the homeserver send it again). What a snapshot could still miss (a homeserver that lost
 * queued events, a store restored from a backup) is found by `check`, which reads each room once
 * in the background and applies what differs.
 */
export class RoomSnapshots {
  /** Live state events applied per room since start: a check does not apply state older than one. */
  private readonly liveChanges = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly table: RoomSnapshotsTable,
    private readonly log: Logger,
  ) {}

  /** The rooms with a saved state. */
  savedRooms(): Set<string> {
    return this.table.roomIds();
  }

  /** The room's saved state, or null. */
  saved(roomId: string): StateEvent[] | null {
    return this.table.get(roomId);
  }

  /** A room's state as read from the homeserver (or the snapshot it was served from) was applied. */
  save(roomId: string, state: readonly StateEvent[]): void {
    this.table.save(roomId, snapshotOf(state));
  }

  /** A state event of a transaction, before the transaction is stored. */
  noteLive(roomId: string, event: StateEvent): void {
    if (!keptInSnapshot(event.type)) return;
    this.liveChanges.set(roomId, (this.liveChanges.get(roomId) ?? 0) + 1);
    const current = this.table.get(roomId);
    if (current) this.table.save(roomId, withStateEvent(current, event));
  }

  forget(roomId: string): void {
    this.table.remove(roomId);
  }

  /**
   * Reads each room from the homeserver, a few at a time, and calls `apply` for those whose state
   * differs from their snapshot (unless a live state event came meanwhile: that one is newer).
   * Resolves with how many differed; a room that cannot be read is logged and left as it is.
   */
  async check(roomIds: readonly string[], read: (roomId: string) => Promise<StateEvent[]>, apply: (roomId: string, state: StateEvent[]) => Promise<unknown>): Promise<number> {
    let next = 0;
    let differed = 0;
    const lane = async (): Promise<void> => {
      while (next < roomIds.length && !this.stopped) {
        const roomId = roomIds[next++]!;
        const seen = this.liveChanges.get(roomId) ?? 0;
        try {
          const state = await read(roomId);
          const saved = this.table.get(roomId);
          if (this.stopped || saved === null || (this.liveChanges.get(roomId) ?? 0) !== seen || sameSnapshot(saved, snapshotOf(state))) continue;
          differed++;
          this.log.info({ roomId }, "the room's state changed beyond what the homeserver sent while the bridge was away; applying it");
          await apply(roomId, state);
        } catch (err) {
          this.log.warn({ err, roomId }, "could not check the room's saved state against the homeserver; the saved state stays in use");
        }
      }
    };
    await Promise.all(Array.from({ length: ROOMS_CHECKED_AT_ONCE }, lane));
    return differed;
  }

  /** Ends a check under way (the bridge stops). */
  stop(): void {
    this.stopped = true;
  }
}
