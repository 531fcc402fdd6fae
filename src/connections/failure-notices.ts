import { noticeDue, withFailedAttempt, failureNoticeText, recoveryNoticeText, type FailureEpisode } from "../delivery/failure-episode.js";
import type { AttemptFailure } from "../delivery/targets.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { RoomNotifier } from "../matrix/room-notifier.js";
import type { Logger } from "../observability/logger.js";
import type { OutboundHooksStore } from "../store/outbound-hooks-table.js";
import type { OutboundHookRegistry } from "./outbound-hook-registry.js";
import { KIND_LABEL } from "./outbound-hooks.js";

const SAVE_COUNTS_EVERY_MS = 1000;

export interface FailureNoticeSettings {
  /** Failed attempts in a row before the room is told; 0: never. */
  afterAttempts: number;
  /** Also tell the user who added the hook, by DM. */
  toOwner: boolean;
}

/**
 * One notice when a hook's deliveries start failing (after a number of failed attempts in a
 * row), naming the cause, and one when a delivery gets through again. The episode is kept in the
 * store, so a restart during an outage neither tells the room again nor forgets to tell it of
 * the recovery.
 */
export class FailureNotices {
  /** hook id → when its episode was last written: counts are written at most once a second. */
  private readonly savedAt = new Map<string, number>();

  constructor(
    private readonly registry: OutboundHookRegistry,
    private readonly hooks: OutboundHooksStore,
    private readonly notifier: RoomNotifier,
    private readonly messenger: DirectMessenger | null,
    private readonly settings: FailureNoticeSettings,
    private readonly log: Logger,
  ) {}

  /** Each hook's steps are called one at a time, in order (OutboundDeliveryTargets). */
  async failed(hookId: string, failure: AttemptFailure, now: number): Promise<void> {
    const before = await this.hooks.failureEpisode(hookId);
    // Notices off: nothing to count, unless the room was told before they were turned off.
    if (this.settings.afterAttempts === 0 && before.noticedAt === null) return;
    let episode = withFailedAttempt(before, failure.attempt);
    const hook = noticeDue(episode, this.settings.afterAttempts) ? this.registry.byId(hookId) : null;
    // The notifier holds back a second notice within its period (a flapping receiver): the
    // episode then counts as untold, and its recovery is not announced either. Asked first, so
    // that a held-back notice claims nothing in the file.
    if (hook && this.notifier.wouldSend(hook.roomId, `failing:${hookId}`, now)) {
      if (!(await this.hooks.claimFailureNotice(hookId, now))) {
        // Another process delivering for this hook told the room already (as the store now says).
        const told = (await this.hooks.failureEpisode(hookId)).noticedAt;
        if (told !== null) episode = { ...episode, noticedAt: told };
      } else {
        const text = failureNoticeText(`${KIND_LABEL[hook.kind]} "${hook.name}"`, failure.url, failure.category, episode);
        if (this.notifier.notify(hook.roomId, `failing:${hookId}`, text, now)) {
          episode = { ...episode, noticedAt: now };
          this.log.warn({ hook: hook.name, roomId: hook.roomId, category: failure.category.id, failedAttempts: episode.failedAttempts }, "outbound hook failing; the room was told");
          await this.tellOwner(hookId, hook.roomId, text);
        } else {
          await this.hooks.releaseFailureNotice(hookId, now);
        }
      }
    }
    await this.save(hookId, episode, before.failedAttempts === 0 || episode.noticedAt !== before.noticedAt, now);
  }

  /**
   * The store keeps the episode in memory; it writes the start and the notice at once and the
   * counts at most once a second: during an outage every attempt fails, and a write for each would
   * wait for the queue's commits (SQLite) or cost a round trip (PostgreSQL).
   */
  private async save(hookId: string, episode: FailureEpisode, changed: boolean, now: number): Promise<void> {
    const last = this.savedAt.get(hookId);
    if (changed || last === undefined || now - last >= SAVE_COUNTS_EVERY_MS || now < last) {
      await this.hooks.saveFailureEpisode(hookId, episode);
      this.savedAt.set(hookId, now);
    } else {
      this.hooks.cacheFailureEpisode(hookId, episode);
    }
  }

  /** After a successful delivery; `failingSince` is when the failures began (null: unknown). */
  async succeeded(hookId: string, failingSince: number | null, now: number): Promise<void> {
    const episode = await this.hooks.endFailureEpisode(hookId);
    if (!episode) return;
    this.savedAt.delete(hookId);
    if (episode.noticedAt === null) return;
    const hook = this.registry.byId(hookId);
    if (!hook) return;
    const text = recoveryNoticeText(`${KIND_LABEL[hook.kind]} "${hook.name}"`, hook.url, episode, failingSince === null ? null : now - failingSince);
    this.log.info({ hook: hook.name, roomId: hook.roomId, failedAttempts: episode.failedAttempts }, "outbound hook delivers again; the room was told");
    this.notifier.notify(hook.roomId, `recovered:${hookId}`, text, now, { force: true });
    await this.tellOwner(hookId, hook.roomId, text);
  }

  /** Sent in the background; only the owner's lookup is awaited. */
  private async tellOwner(hookId: string, roomId: string, text: string): Promise<void> {
    if (!this.settings.toOwner || !this.messenger) return;
    const owner = (await this.hooks.byId(hookId))?.createdBy;
    if (!owner) return;
    this.messenger.notify(owner, `In ${roomId}: ${text}`).catch((err: unknown) => this.log.warn({ err, roomId, owner }, "could not tell a hook's owner by DM"));
  }
}
