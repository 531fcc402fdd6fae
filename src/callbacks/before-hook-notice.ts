import { mayRedactOthers, type RoomAuthority } from "../connections/power-levels.js";

/**
 * What a room is told when a before-hook becomes active: how its verdicts take effect here. With
 * the Synapse module (the bridge expects it when callbacks.precheck has a secret) a rejected
 * message is never seen; without it the bridge redacts, which needs the power to redact.
 */
export function beforeHookNote(authority: RoomAuthority, botUserId: string, moduleExpected: boolean): string {
  const power = mayRedactOthers(authority, botUserId);
  const redacting = power.allowed
    ? `I can redact here (my power level ${power.has}, redacting needs ${power.needs})`
    : `I cannot redact here (my power level ${power.has}, redacting needs ${power.needs}): raise my power level, or rejected messages stay visible`;
  return moduleExpected
    ? ` Messages are judged before anyone sees them by the homeserver's pre-send module; a message the module did not ask about is judged after it was sent and redacted if rejected — ${redacting}.`
    : ` This bridge has no pre-send module configured (callbacks.precheck), so messages are judged after they are sent and a rejected one is redacted — others may see it until then; ${redacting}.`;
}
