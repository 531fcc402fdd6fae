import type { StateEvent } from "../matrix/port.js";

/** Rooms whose saved state is read in one query at start. */
export const SNAPSHOT_PAGE_ROOMS = 200;

/**
 * The saved state of the rooms a start loads, read a page of rooms at a time in the order they
 * are loaded (PostgreSQL: one query per page instead of one per room). Each room's state is
 * handed out once, and a page is let go once all of its rooms took theirs, so memory holds a few
 * pages at most. A room asked for out of order (an event came for it) reads its own page early.
 */
export class SnapshotPages {
  private readonly pageOf = new Map<string, number>();
  private readonly pages = new Map<number, Promise<Map<string, StateEvent[]>>>();
  private readonly left = new Map<number, number>();

  constructor(
    private readonly order: readonly string[],
    private readonly read: (roomIds: readonly string[]) => Promise<Map<string, StateEvent[]>>,
    private readonly size = SNAPSHOT_PAGE_ROOMS,
  ) {
    order.forEach((roomId, i) => this.pageOf.set(roomId, Math.floor(i / size)));
  }

  /** The room's saved state, or null: none saved, or handed out already (a second try reads the homeserver). */
  async saved(roomId: string): Promise<StateEvent[] | null> {
    const n = this.pageOf.get(roomId);
    if (n === undefined) return null;
    this.pageOf.delete(roomId);
    let page = this.pages.get(n);
    if (!page) {
      const ids = this.order.slice(n * this.size, (n + 1) * this.size);
      page = this.read(ids);
      this.pages.set(n, page);
      this.left.set(n, ids.length);
    }
    const left = this.left.get(n)! - 1;
    if (left === 0) {
      this.pages.delete(n);
      this.left.delete(n);
    } else {
      this.left.set(n, left);
    }
    const states = await page;
    const state = states.get(roomId) ?? null;
    states.delete(roomId);
    return state;
  }
}
