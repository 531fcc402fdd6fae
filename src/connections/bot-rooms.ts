import type { RoomEvent, StateEvent } from "../matrix/port.js";

const MAX_ROOMS = 20_000;

/**
 * Who is joined to which room, as far as webhook bots need it: whether a bot's ghost is in a room,
 * and whether a room is a DM (its joined members are exactly the sender and the ghost). Fed by the
 * rooms' state when they are loaded (the bridge bot's rooms at start or join, a DM room when the
 * ghost joins it) and then by the m.room.member events of transactions. Rooms never loaded are
 * unknown: no ghost counts as joined there.
 */
export class BotRooms {
  private readonly rooms = new Map<string, Set<string>>();

  /** The room's joined members, from its full state (or its /joined_members). */
  setMembers(roomId: string, joined: Iterable<string>): void {
    this.rooms.delete(roomId);
    if (this.rooms.size >= MAX_ROOMS) this.rooms.delete(this.rooms.keys().next().value!);
    this.rooms.set(roomId, new Set(joined));
  }

  /** Loads the members from a room's state as read back from the homeserver. */
  loadState(roomId: string, state: readonly StateEvent[]): void {
    this.setMembers(roomId, state.filter((e) => e.type === "m.room.member" && e.content?.membership === "join").map((e) => e.state_key));
  }

  /** A state event of a transaction: a membership change in a known room. */
  observe(event: RoomEvent): void {
    if (event.type !== "m.room.member" || event.state_key === undefined) return;
    const members = this.rooms.get(event.room_id);
    if (!members) return;
    if (event.content.membership === "join") members.add(event.state_key);
    else members.delete(event.state_key);
  }

  /** The user joined a known room (the bridge's own ghost, before its join event comes back). */
  joined(roomId: string, userId: string): void {
    this.rooms.get(roomId)?.add(userId);
  }

  forgetRoom(roomId: string): void {
    this.rooms.delete(roomId);
  }

  isJoined(roomId: string, userId: string): boolean {
    return this.rooms.get(roomId)?.has(userId) ?? false;
  }

  joinedMembers(roomId: string): ReadonlySet<string> | null {
    return this.rooms.get(roomId) ?? null;
  }

  /** The known rooms the user is joined to. */
  roomsOf(userId: string): string[] {
    return [...this.rooms].filter(([, members]) => members.has(userId)).map(([roomId]) => roomId);
  }
}
