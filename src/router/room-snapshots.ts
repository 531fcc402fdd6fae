import type { StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { RoomSnapshotsTable } from "../store/room-snapshots-table.js";
import { holdsEvent, isWellFormedSnapshot, keptInSnapshot, sameSnapshot, snapshotOf, withStateEvent } from "./room-snapshot.js";

/** Rooms checked against the homeserver at once after a start from snapshots (live traffic goes first). */
const ROOMS_CHECKED_AT_ONCE = 2;
/** Reads of a room whose state keeps changing while it is checked, before the check gives up on it (logged). */
const CHECK_TRIES = 3;

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

  /** The room's saved state, or null; a saved row that is not a list of state events is dropped (the room is read from the homeserver). */
  saved(roomId: string): StateEvent[] | null {
    const value = this.table.get(roomId);
    if (value === null) return null;
    if (isWellFormedSnapshot(value)) return value;
    this.log.warn({ roomId }, "the room's saved state is malformed; it is read from the homeserver instead");
    this.table.remove(roomId);
    return null;
  }

  /** A room's state as read from the homeserver (or the snapshot it was served from) was applied. */
  save(roomId: string, state: readonly StateEvent[]): void {
    this.table.save(roomId, snapshotOf(state));
  }

  /** A state event of a transaction, before the transaction is stored. */
  noteLive(roomId: string, event: StateEvent): void {
    if (!keptInSnapshot(event.type)) return;
    this.liveChanges.set(roomId, (this.liveChanges.get(roomId) ?? 0) + 1);
    const current = this.saved(roomId);
    if (current) this.table.save(roomId, withStateEvent(current, event));
  }

  /**
   * A redaction of a transaction, before the transaction is stored. Redacting a saved state event
   * changes the room's state in ways the saved row cannot follow (the homeserver strips content by
   * the room version's rules): the room's row is dropped, so the next start reads it afresh.
   */
  noteRedaction(roomId: string, redactedEventId: string): void {
    const current = this.saved(roomId);
    if (current && holdsEvent(current, redactedEventId)) {
      this.liveChanges.set(roomId, (this.liveChanges.get(roomId) ?? 0) + 1);
      this.table.remove(roomId);
    }
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
        try {
          const outcome = await this.checkRoom(roomId, read, apply);
          if (outcome === "applied") differed++;
          if (outcome === "kept changing") this.log.warn({ roomId }, "the room's state kept changing while it was checked; its saved state (with the live changes) stays in use");
        } catch (err) {
          if (!this.stopped) this.log.warn({ err, roomId }, "could not check the room's saved state against the homeserver; the saved state stays in use");
        }
      }
    };
    await Promise.all(Array.from({ length: ROOMS_CHECKED_AT_ONCE }, lane));
    return differed;
  }

  /**
   * One room: read, compare, apply. State read before a live state event came (during the read or
   * the apply) is older than that event: it is read again rather than kept or saved.
   */
  private async checkRoom(roomId: string, read: (roomId: string) => Promise<StateEvent[]>, apply: (roomId: string, state: StateEvent[]) => Promise<unknown>): Promise<"same" | "applied" | "kept changing" | "stopped"> {
    let appliedOlder = false;
    for (let attempt = 0; attempt < CHECK_TRIES; attempt++) {
      const seen = this.liveChanges.get(roomId) ?? 0;
      const state = await read(roomId);
      if (this.stopped) return "stopped";
      if ((this.liveChanges.get(roomId) ?? 0) !== seen) continue;
      const saved = this.saved(roomId);
      const fresh = snapshotOf(state);
      if (saved !== null && sameSnapshot(saved, fresh)) return "same";
      if (attempt === 0 || saved === null) this.log.info({ roomId }, "the room's state changed beyond what the homeserver sent while the bridge was away; applying it");
      await apply(roomId, state);
      if (this.stopped) return "stopped";
      if ((this.liveChanges.get(roomId) ?? 0) !== seen) {
        appliedOlder = true; // a live change came during the apply: read again, apply the newer
        continue;
      }
      this.table.save(roomId, fresh);
      return "applied";
    }
    // Giving up after applying state older than a live change: the saved state holds that change.
    const saved = appliedOlder ? this.saved(roomId) : null;
    if (saved) await apply(roomId, saved);
    return "kept changing";
  }

  /** Ends a check under way (the bridge stops). */
  stop(): void {
    this.stopped = true;
  }
}
