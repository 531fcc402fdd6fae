import type { InboundHookSettings } from "./inbound-hook-state.js";

/** A live inbound hook: its settings from room state plus its store id. */
export interface ActiveInboundHook extends InboundHookSettings {
  id: string;
  roomId: string;
  /** The state event that configured it (a redaction of it removes the hook). */
  stateEventId?: string;
}

/** The live inbound hooks of every joined room, by store id (what a request resolves to) and by name. */
export class InboundHookRegistry {
  private readonly byIdMap = new Map<string, ActiveInboundHook>();
  private readonly byRoom = new Map<string, Map<string, string>>();

  set(hook: ActiveInboundHook): void {
    const previous = this.byIdMap.get(hook.id);
    if (previous) this.unindex(previous);
    const other = this.get(hook.roomId, hook.name);
    if (other && other.id !== hook.id) this.removeById(other.id);
    this.byIdMap.set(hook.id, hook);
    let room = this.byRoom.get(hook.roomId);
    if (!room) this.byRoom.set(hook.roomId, (room = new Map()));
    room.set(hook.name, hook.id);
  }

  get(roomId: string, name: string): ActiveInboundHook | undefined {
    const id = this.byRoom.get(roomId)?.get(name);
    return id === undefined ? undefined : this.byIdMap.get(id);
  }

  byId(id: string): ActiveInboundHook | undefined {
    return this.byIdMap.get(id);
  }

  remove(roomId: string, name: string): ActiveInboundHook | undefined {
    const hook = this.get(roomId, name);
    if (hook) this.removeById(hook.id);
    return hook;
  }

  removeById(id: string): ActiveInboundHook | undefined {
    const hook = this.byIdMap.get(id);
    if (!hook) return undefined;
    this.unindex(hook);
    this.byIdMap.delete(id);
    return hook;
  }

  forgetRoom(roomId: string): ActiveInboundHook[] {
    const hooks = this.forRoom(roomId);
    for (const hook of hooks) this.removeById(hook.id);
    return hooks;
  }

  forRoom(roomId: string): ActiveInboundHook[] {
    const ids = [...(this.byRoom.get(roomId)?.values() ?? [])];
    return ids.map((id) => this.byIdMap.get(id)!).sort((a, b) => a.name.localeCompare(b.name));
  }

  private unindex(hook: ActiveInboundHook): void {
    const room = this.byRoom.get(hook.roomId);
    if (room?.get(hook.name) === hook.id) room.delete(hook.name);
    if (room?.size === 0) this.byRoom.delete(hook.roomId);
  }
}
