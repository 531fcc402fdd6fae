import type { StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { RoomSnapshotsStore } from "../store/room-snapshots-table.js";
import { holdsEvent, isWellFormedSnapshot, keptInSnapshot, sameSnapshot, snapshotOf, withStateEvent } from "./room-snapshot.js";
import { SnapshotPages } from "./snapshot-pages.js";

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
    private readonly table: RoomSnapshotsStore,
    private readonly log: Logger,
  ) {}

  /** The rooms with a saved state. */
  savedRooms(): Promise<Set<string>> {
    return this.table.roomIds();
  }

  /** The room's saved state, or null; a saved row that is not a list of state events is dropped (the room is read from the homeserver). */
  async saved(roomId: string): Promise<StateEvent[] | null> {
    const value = await this.table.get(roomId);
    if (value === null || this.wellFormed(roomId, value)) return value as StateEvent[] | null;
    await this.table.remove(roomId);
    return null;
  }

  /** The saved state of the rooms a start loads, in this order, read a page of rooms at a time; malformed rows are dropped. */
  pages(roomIds: readonly string[]): SnapshotPages {
    return new SnapshotPages(roomIds, async (ids) => {
      const states = new Map<string, StateEvent[]>();
      for (const [roomId, value] of await this.table.getMany(ids)) {
        if (this.wellFormed(roomId, value)) states.set(roomId, value);
        else await this.table.remove(roomId);
      }
      return states;
    });
  }

  /** A room's state as read from the homeserver (or the snapshot it was served from) was applied. */
  async save(roomId: string, state: readonly StateEvent[]): Promise<void> {
    await this.table.save(roomId, snapshotOf(state));
  }

  /**
   * A state event of a transaction, before the transaction is stored. The saved state is read and
   * written as one step: another appservice process applying live state to the room meanwhile
   * keeps its change, and this one too.
   */
  async noteLive(roomId: string, event: StateEvent): Promise<void> {
    if (!keptInSnapshot(event.type)) return;
    this.liveChanges.set(roomId, (this.liveChanges.get(roomId) ?? 0) + 1);
    await this.table.update(roomId, (value) => (value !== null && this.wellFormed(roomId, value) ? withStateEvent(value, event) : null));
  }

  /** Whether a saved value is a list of state events; one that is not is logged (the caller drops it). */
  private wellFormed(roomId: string, value: unknown): value is StateEvent[] {
    if (isWellFormedSnapshot(value)) return true;
    this.log.warn({ roomId }, "the room's saved state is malformed; it is read from the homeserver instead");
    return false;
  }

  /**
   * A redaction of a transaction, before the transaction is stored. Redacting a saved state event
   * changes the room's state in ways the saved row cannot follow (the homeserver strips content by
   * the room version's rules): the room's row is dropped, so the next start reads it afresh.
   */
  async noteRedaction(roomId: string, redactedEventId: string): Promise<void> {
    const current = await this.saved(roomId);
    if (current && holdsEvent(current, redactedEventId)) {
      this.liveChanges.set(roomId, (this.liveChanges.get(roomId) ?? 0) + 1);
      await this.table.remove(roomId);
    }
  }

  async forget(roomId: string): Promise<void> {
    await this.table.remove(roomId);
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
      const saved = await this.saved(roomId);
      const fresh = snapshotOf(state);
      if (saved !== null && sameSnapshot(saved, fresh)) return "same";
      if (attempt === 0 || saved === null) this.log.info({ roomId }, "the room's state changed beyond what the homeserver sent while the bridge was away; applying it");
      await apply(roomId, state);
      if (this.stopped) return "stopped";
      if ((this.liveChanges.get(roomId) ?? 0) !== seen) {
        appliedOlder = true; // a live change came during the apply: read again, apply the newer
        continue;
      }
      // Only over the state compared against: another appservice process's live change saved meanwhile stays.
      await this.table.update(roomId, (current) => {
        const now = isWellFormedSnapshot(current) ? current : null;
        return (now === null ? saved === null : saved !== null && sameSnapshot(now, saved)) ? fresh : now;
      });
      return "applied";
    }
    // Giving up after applying state older than a live change: the saved state holds that change.
    const saved = appliedOlder ? await this.saved(roomId) : null;
    if (saved) await apply(roomId, saved);
    return "kept changing";
  }

  /** Ends a check under way (the bridge stops). */
  stop(): void {
    this.stopped = true;
  }
}
