import { DEFAULT_USER_PREFIX } from "../matrix/registration.js";

/**
 * The localpart of the ghost user an inbound hook posts as. It comes from the hook's stable store
 * id, so a rename keeps the same user (only its display name changes).
 */
export function ghostLocalpart(hookId: string): string {
  return `${DEFAULT_USER_PREFIX}${hookId}`.toLowerCase();
}

/** Refuses to start when the registration's user namespace would not cover the ghosts. */
export function assertGhostNamespace(isBridgeUser: (userId: string) => boolean, domain: string): void {
  const sample = `@${ghostLocalpart("ih_0000000000000000")}:${domain}`;
  if (!isBridgeUser(sample)) {
    throw new Error(`The registration's user namespace does not cover inbound hook users such as ${sample}; ` +
      `regenerate it with --generate-registration (namespace @${DEFAULT_USER_PREFIX}.*).`);
  }
}
