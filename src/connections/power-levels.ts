/** The parts of m.room.power_levels content that decide who may configure hooks. */
export interface PowerLevelsContent {
  users?: Record<string, unknown>;
  users_default?: unknown;
  events?: Record<string, unknown>;
  state_default?: unknown;
  redact?: unknown;
}

const level = (value: unknown, fallback: number): number =>
  typeof value === "number" && Number.isInteger(value) ? value : fallback;

/**
 * Who created the room, when the room version makes creators all-powerful (v12 and later,
 * MSC4289): they never appear in `users` and outrank everyone.
 */
export interface RoomAuthority {
  powerLevels: PowerLevelsContent | null;
  privilegedCreators: readonly string[];
}

/** Room versions whose creators hold unlimited power: "12" and later, and MSC4289's test versions. */
export function hasPrivilegedCreators(roomVersion: unknown): boolean {
  if (typeof roomVersion !== "string") return false;
  if (/^\d+$/.test(roomVersion)) return Number(roomVersion) >= 12;
  return roomVersion.startsWith("org.matrix.hydra");
}

/** The room's authority as its full state shows it (power levels, and the create event's creators). */
export function roomAuthorityFromState(state: ReadonlyArray<{ type: string; state_key: string; sender: string; content: Record<string, unknown> }>): RoomAuthority {
  const powerLevels = state.find((e) => e.type === "m.room.power_levels" && e.state_key === "");
  const create = state.find((e) => e.type === "m.room.create" && e.state_key === "");
  return { powerLevels: powerLevels ? (powerLevels.content as PowerLevelsContent) : null, privilegedCreators: create ? privilegedCreators(create.sender, create.content) : [] };
}

/** The creators the create event makes all-powerful: none before room version 12. */
export function privilegedCreators(creator: string, createContent: { room_version?: unknown; additional_creators?: unknown }): string[] {
  if (!hasPrivilegedCreators(createContent.room_version ?? "1")) return [];
  const additional = Array.isArray(createContent.additional_creators) ? createContent.additional_creators.filter((c): c is string => typeof c === "string") : [];
  return [creator, ...additional];
}

/** A user's power level per the spec's defaults (no power_levels event: 0 for all). */
export function userPowerLevel(pl: PowerLevelsContent | null, userId: string, privilegedCreators: readonly string[] = []): number {
  if (privilegedCreators.includes(userId)) return Number.POSITIVE_INFINITY;
  if (!pl) return 0;
  return level(pl.users?.[userId], level(pl.users_default, 0));
}

/** The level needed to send a state event of `eventType` (spec default state_default 50). */
export function requiredStateLevel(pl: PowerLevelsContent | null, eventType: string): number {
  if (!pl) return 0;
  return level(pl.events?.[eventType], level(pl.state_default, 50));
}

export interface PermissionVerdict {
  allowed: boolean;
  has: number;
  needs: number;
}

/**
 * May `userId` configure hooks stored as `eventType`? The room's rule applies, raised to the
 * configured minimum when one is set.
 */
export function mayConfigureHooks(
  room: RoomAuthority,
  userId: string,
  eventType: string,
  configuredMinimum: number | null,
): PermissionVerdict {
  const roomNeeds = requiredStateLevel(room.powerLevels, eventType);
  const needs = configuredMinimum === null ? roomNeeds : Math.max(roomNeeds, configuredMinimum);
  const has = userPowerLevel(room.powerLevels, userId, room.privilegedCreators);
  return { allowed: has >= needs, has, needs };
}

/** May `userId` redact other users' events? The room's `redact` level (spec default 50). */
export function mayRedactOthers(room: RoomAuthority, userId: string): PermissionVerdict {
  const needs = room.powerLevels ? level(room.powerLevels.redact, 50) : 0;
  const has = userPowerLevel(room.powerLevels, userId, room.privilegedCreators);
  return { allowed: has >= needs, has, needs };
}
