/** The parts of m.room.power_levels content that decide who may configure hooks. */
export interface PowerLevelsContent {
  users?: Record<string, unknown>;
  users_default?: unknown;
  events?: Record<string, unknown>;
  state_default?: unknown;
}

const level = (value: unknown, fallback: number): number =>
  typeof value === "number" && Number.isInteger(value) ? value : fallback;

/** A user's power level per the spec's defaults (no power_levels event: creator-like 0 for all). */
export function userPowerLevel(pl: PowerLevelsContent | null, userId: string): number {
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
  pl: PowerLevelsContent | null,
  userId: string,
  eventType: string,
  configuredMinimum: number | null,
): PermissionVerdict {
  const roomNeeds = requiredStateLevel(pl, eventType);
  const needs = configuredMinimum === null ? roomNeeds : Math.max(roomNeeds, configuredMinimum);
  const has = userPowerLevel(pl, userId);
  return { allowed: has >= needs, has, needs };
}
