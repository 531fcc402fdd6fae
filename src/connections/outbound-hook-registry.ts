import { hookIdOfLane, laneIds } from "./hook-lanes.js";
import type { OutboundHookSettings } from "./outbound-hook-state.js";

/**
 * What an outbound hook is: a plain hook (Hookshot's state, fires on its filters) or a webhook bot
 * (our state, fires when its ghost is mentioned or in a DM with it). Both share the queue, tokens,
 * signing, retries, status and replies; names are unique per room and kind.
 */
export type HookKind = "hook" | "bot";

/** A hook that is live: its settings from room state plus its store id. */
export interface ActiveOutboundHook extends OutboundHookSettings {
  kind: HookKind;
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
  // Every bot, whatever its room: a bot's ghost may be in rooms other than its own (DMs).
  private readonly allBots = new Map<string, ActiveOutboundHook>();

  set(hook: ActiveOutboundHook): void {
    this.remove(hook.roomId, hook.name, hook.kind);
    let room = this.byRoom.get(hook.roomId);
    if (!room) this.byRoom.set(hook.roomId, (room = new Map()));
    room.set(keyOf(hook.kind, hook.name), hook);
    this.sortedByRoom.delete(hook.roomId);
    this.byIdMap.set(hook.id, hook);
    if (hook.kind === "bot") this.allBots.set(hook.id, hook);
    if (hook.ordering === "strict") for (const lane of laneIds(hook)) this.strictIds.add(lane);
  }

  remove(roomId: string, name: string, kind: HookKind = "hook"): ActiveOutboundHook | undefined {
    const room = this.byRoom.get(roomId);
    const hook = room?.get(keyOf(kind, name));
    if (!room || !hook) return undefined;
    room.delete(keyOf(kind, name));
    this.allBots.delete(hook.id);
    this.sortedByRoom.delete(roomId);
    if (room.size === 0) this.byRoom.delete(roomId);
    this.byIdMap.delete(hook.id);
    for (const lane of laneIds(hook)) this.strictIds.delete(lane);
    return hook;
  }

  forgetRoom(roomId: string): ActiveOutboundHook[] {
    const hooks = [...this.forRoom(roomId)];
    for (const hook of hooks) this.remove(roomId, hook.name, hook.kind);
    return hooks;
  }

  get(roomId: string, name: string, kind: HookKind = "hook"): ActiveOutboundHook | undefined {
    return this.byRoom.get(roomId)?.get(keyOf(kind, name));
  }

  /** The ids of every hook and bot of every room. */
  ids(): Iterable<string> {
    return this.byIdMap.keys();
  }

  /** Every webhook bot of every room. */
  bots(): Iterable<ActiveOutboundHook> {
    return this.allBots.values();
  }

  hasBots(): boolean {
    return this.allBots.size > 0;
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

  /** The room's hooks of one kind, sorted by name. */
  ofKind(roomId: string, kind: HookKind): ActiveOutboundHook[] {
    return this.forRoom(roomId).filter((h) => h.kind === kind);
  }

  /** The room's hooks and bots, sorted by name. */
  forRoom(roomId: string): readonly ActiveOutboundHook[] {
    let sorted = this.sortedByRoom.get(roomId);
    if (!sorted) {
      const room = this.byRoom.get(roomId);
      if (!room) return [];
      sorted = [...room.values()].sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
      this.sortedByRoom.set(roomId, sorted);
    }
    return sorted;
  }
}

const keyOf = (kind: HookKind, name: string) => `${kind}\0${name}`;
