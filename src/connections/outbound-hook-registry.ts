import { hookIdOfLane, laneIds } from "./hook-lanes.js";
import type { OutboundHookSettings } from "./outbound-hook-state.js";

/** A hook that is live: its settings from room state plus its store id. */
export interface ActiveOutboundHook extends OutboundHookSettings {
  id: string;
  roomId: string;
  /** The state event that configured it (a redaction of it removes the hook). */
  stateEventId?: string;
}

/** The live outbound hooks of every joined room, rebuilt from room state at start. */
export class OutboundHookRegistry {
  private readonly byRoom = new Map<string, Map<string, ActiveOutboundHook>>();
  private readonly byIdMap = new Map<string, ActiveOutboundHook>();
  // Lanes (one per URL) of strictly ordered hooks, kept as hooks come and go: the delivery worker asks on every claim.
  private readonly strictIds = new Set<string>();
  // Each room's hooks sorted by name, built once per change: every event of the room asks for them.
  private readonly sortedByRoom = new Map<string, readonly ActiveOutboundHook[]>();

  set(hook: ActiveOutboundHook): void {
    this.remove(hook.roomId, hook.name);
    let room = this.byRoom.get(hook.roomId);
    if (!room) this.byRoom.set(hook.roomId, (room = new Map()));
    room.set(hook.name, hook);
    this.sortedByRoom.delete(hook.roomId);
    this.byIdMap.set(hook.id, hook);
    if (hook.ordering === "strict") for (const lane of laneIds(hook)) this.strictIds.add(lane);
  }

  remove(roomId: string, name: string): ActiveOutboundHook | undefined {
    const room = this.byRoom.get(roomId);
    const hook = room?.get(name);
    if (!room || !hook) return undefined;
    room.delete(name);
    this.sortedByRoom.delete(roomId);
    if (room.size === 0) this.byRoom.delete(roomId);
    this.byIdMap.delete(hook.id);
    for (const lane of laneIds(hook)) this.strictIds.delete(lane);
    return hook;
  }

  forgetRoom(roomId: string): ActiveOutboundHook[] {
    const hooks = [...this.forRoom(roomId)];
    for (const hook of hooks) this.remove(roomId, hook.name);
    return hooks;
  }

  get(roomId: string, name: string): ActiveOutboundHook | undefined {
    return this.byRoom.get(roomId)?.get(name);
  }

  byId(id: string): ActiveOutboundHook | undefined {
    return this.byIdMap.get(id);
  }

  /** The hook a queue lane (one of its URLs) belongs to. */
  byLane(lane: string): ActiveOutboundHook | undefined {
    return this.byIdMap.get(hookIdOfLane(lane));
  }

  /** The queue lanes of strictly ordered hooks. */
  strictlyOrderedIds(): ReadonlySet<string> {
    return this.strictIds;
  }

  /** The room's hooks, sorted by name. */
  forRoom(roomId: string): readonly ActiveOutboundHook[] {
    let sorted = this.sortedByRoom.get(roomId);
    if (!sorted) {
      const room = this.byRoom.get(roomId);
      if (!room) return [];
      sorted = [...room.values()].sort((a, b) => a.name.localeCompare(b.name));
      this.sortedByRoom.set(roomId, sorted);
    }
    return sorted;
  }
}
