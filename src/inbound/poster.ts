import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { InboundGhosts } from "../matrix/port.js";
import { ghostLocalpart } from "./ghost.js";
import { GhostSetupFailed } from "./homeserver-answer.js";

/** What a ghost needs of its hook: its id (the ghost's user id comes from it), room and look. */
export type GhostHook = Pick<ActiveInboundHook, "id" | "roomId" | "name" | "avatar">;

/**
 * Posts as a hook's ghost user (an inbound hook's, or an outbound chat hook's for its replies). Before the first message (and after a rename or avatar change)
 * the ghost gets the hook's name and avatar and joins the room; after that a message is one request.
 */
export class InboundPoster {
  // hook id → the look and room last applied; in memory (after a restart the profile is compared once).
  private readonly applied = new Map<string, string>();
  private readonly applying = new Map<string, Promise<void>>();

  constructor(private readonly ghosts: InboundGhosts) {}

  userIdFor(hookId: string): string {
    return this.ghosts.ghostUserId(ghostLocalpart(hookId));
  }

  /** Throws GhostSetupFailed when the ghost cannot get its look or into the room, else the homeserver's error for the message. */
  async post(hook: GhostHook, content: Record<string, unknown>, txnId?: string): Promise<string> {
    await this.ensureIdentity(hook).catch((err: unknown) => Promise.reject(new GhostSetupFailed(err)));
    return this.ghosts.sendAsGhost(this.userIdFor(hook.id), hook.roomId, content, txnId);
  }

  /** The hook is gone: forget it, and its ghost leaves the room. */
  async retire(hook: { id: string; roomId: string }): Promise<void> {
    this.applied.delete(hook.id);
    await this.ghosts.leaveAsGhost(this.userIdFor(hook.id), hook.roomId);
  }

  private ensureIdentity(hook: GhostHook): Promise<void> {
    const look = JSON.stringify([hook.roomId, hook.name, hook.avatar]);
    if (this.applied.get(hook.id) === look) return Promise.resolve();
    // Concurrent first requests share one setup.
    const key = `${hook.id}\0${look}`;
    let running = this.applying.get(key);
    if (!running) {
      const userId = this.userIdFor(hook.id);
      running = (async () => {
        await this.ghosts.ensureGhostProfile(userId, { displayName: hook.name, avatarUrl: hook.avatar });
        await this.ghosts.ensureGhostJoined(userId, hook.roomId);
        await this.ghosts.ensureGhostRoomProfile(userId, hook.roomId, { displayName: hook.name, avatarUrl: hook.avatar });
        this.applied.set(hook.id, look);
      })().finally(() => this.applying.delete(key));
      this.applying.set(key, running);
    }
    return running;
  }
}
