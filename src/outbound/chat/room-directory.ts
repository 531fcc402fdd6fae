import type { MatrixPort, RoomEvent } from "../../matrix/port.js";

interface RoomNames {
  name: string | null;
  alias: string | null;
}

const MAX_ROOMS = 5_000;
const MAX_MEMBERS = 50_000;
const TTL_MS = 10 * 60_000;

/**
 * Room names, aliases and members' display names for the chat formats (Slack's channel_name and
 * user_name, Zulip's display_recipient and sender_full_name). Read from the homeserver when first
 * asked, then kept up to date by the state events that pass through transactions; entries also
 * expire, and both caches are bounded (oldest dropped first).
 */
export class RoomDirectory {
  private readonly rooms = new Map<string, { value: RoomNames; at: number }>();
  private readonly members = new Map<string, { value: string | null; at: number }>();

  constructor(
    private readonly matrix: Pick<MatrixPort, "stateContent">,
    private readonly now: () => number = Date.now,
  ) {}

  /** A state event seen live: the cached value it changes is dropped (read again when needed). */
  observe(event: RoomEvent): void {
    if (event.state_key === undefined) return;
    if (event.type === "m.room.name" || event.type === "m.room.canonical_alias") this.rooms.delete(event.room_id);
    else if (event.type === "m.room.member") this.members.delete(memberKey(event.room_id, event.state_key));
  }

  async room(roomId: string): Promise<RoomNames> {
    const cached = fresh(this.rooms.get(roomId), this.now());
    if (cached) return cached.value;
    const [name, alias] = await Promise.all([
      this.matrix.stateContent(roomId, "m.room.name").catch(() => null),
      this.matrix.stateContent(roomId, "m.room.canonical_alias").catch(() => null),
    ]);
    const value = { name: text(name?.name), alias: text(alias?.alias) };
    remember(this.rooms, roomId, value, this.now(), MAX_ROOMS);
    return value;
  }

  /** The member's display name in the room (null: none set, or it cannot be read). */
  async displayName(roomId: string, userId: string): Promise<string | null> {
    const key = memberKey(roomId, userId);
    const cached = fresh(this.members.get(key), this.now());
    if (cached) return cached.value;
    const member = await this.matrix.stateContent(roomId, "m.room.member", userId).catch(() => null);
    const value = text(member?.displayname);
    remember(this.members, key, value, this.now(), MAX_MEMBERS);
    return value;
  }
}

const memberKey = (roomId: string, userId: string) => `${roomId}\0${userId}`;
const text = (v: unknown): string | null => (typeof v === "string" && v.trim().length > 0 ? v : null);

function fresh<V>(entry: { value: V; at: number } | undefined, now: number): { value: V } | null {
  return entry && now - entry.at < TTL_MS ? entry : null;
}

function remember<V>(map: Map<string, { value: V; at: number }>, key: string, value: V, now: number, max: number): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, { value, at: now });
}
