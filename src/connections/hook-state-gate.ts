import type { MatrixPort, StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { Validation } from "./outbound-hook-state.js";
import { mayConfigureHooks, roomAuthorityFromState, type PermissionVerdict, type RoomAuthority } from "./power-levels.js";

/**
 * Where a state event came from: live ones are answered in the room; those loaded from the room's
 * state (at start, or when the bot joins) are only logged; "follow": read again because another
 * bridge process applied it (that one told the room).
 */
export type StateOrigin = "live" | "startup" | "joined" | "follow";

/** What differs between kinds of hook state (outbound, inbound). */
export interface HookStateKind<T> {
  /** "outbound" or "inbound", as people read it in notices. */
  label: string;
  eventType: string;
  isRemoval(content: unknown): boolean;
  validate(stateKey: string, content: unknown): Validation<T>;
}

export type Admission<T> = { kind: "ignored" } | { kind: "removal"; fromBot: boolean } | { kind: "valid"; value: T; fromBot: boolean };

/**
 * The steps every hook state event goes through, whatever its kind: who sent it (the bot, or a
 * user with enough power), whether it removes the hook, whether its content is valid — each
 * refusal logged and, for live events, explained in the room.
 */
export class HookStateGate<T> {
  constructor(
    private readonly kind: HookStateKind<T>,
    private readonly deps: { matrix: MatrixPort; log: Logger; configuredMinimumLevel: number | null },
  ) {}

  /**
   * May the user configure hooks of this kind in the room? Reads the room's current power levels,
   * unless `known` (from state already read) is given.
   */
  async permission(roomId: string, userId: string, known?: RoomAuthority): Promise<PermissionVerdict> {
    const authority = known ?? (await this.deps.matrix.roomAuthority(roomId));
    return mayConfigureHooks(authority, userId, this.kind.eventType, this.deps.configuredMinimumLevel);
  }

  /**
   * Applies every state event of this kind in the room's state (bot joined, or bridge started),
   * with the room's authority taken from that same state.
   */
  async loadRoom(state: readonly StateEvent[], apply: (event: StateEvent, authority: RoomAuthority) => Promise<void>): Promise<void> {
    let authority: RoomAuthority | null = null;
    for (const event of state) {
      if (event.type !== this.kind.eventType) continue;
      authority ??= roomAuthorityFromState(state);
      await apply(event, authority);
    }
  }

  /**
   * The hook (of `hooks`, the room's) a redaction removes: the one whose configuring state event it
   * redacts, if the redactor may configure hooks (as for any state change; refused, the room is
   * told why) and the room's state now shows the hook emptied (the homeserver applied it). Or null.
   */
  async redactedHook<H extends { name: string; stateEventId?: string }>(roomId: string, hooks: readonly H[], redactedEventId: string, redactor: string): Promise<H | null> {
    const hook = hooks.find((h) => h.stateEventId === redactedEventId);
    return hook && (await this.redactionRemoves(roomId, hook.name, redactor)) ? hook : null;
  }

  private async redactionRemoves(roomId: string, name: string, redactor: string): Promise<boolean> {
    const { label, eventType, isRemoval } = this.kind;
    if (redactor !== this.deps.matrix.botUserId) {
      const verdict = await this.permission(roomId, redactor);
      if (!verdict.allowed) {
        this.deps.log.warn({ roomId, hook: name, redactor, ...verdict }, `redaction of ${label} hook state by a user without power ignored`);
        await this.tell(roomId, "live",
          `Ignored the redaction of ${label} hook "${name}" by ${redactor}: configuring hooks needs power level ${verdict.needs} (they have ${verdict.has}). The hook stays active.`);
        return false;
      }
    }
    const state = await this.deps.matrix.roomState(roomId);
    const current = state.find((e) => e.type === eventType && e.state_key === name);
    return isRemoval(current?.content);
  }

  async admit(roomId: string, event: StateEvent, origin: StateOrigin, authority?: RoomAuthority): Promise<Admission<T>> {
    const { matrix, log } = this.deps;
    const { label } = this.kind;
    const name = event.state_key;
    const fromBot = event.sender === matrix.botUserId;
    if (!fromBot) {
      const verdict = await this.permission(roomId, event.sender, authority);
      if (!verdict.allowed) {
        log.warn({ roomId, hook: name, sender: event.sender, ...verdict }, `${label} hook state from a user without power ignored`);
        await this.tell(roomId, origin,
          `Ignored ${label} hook "${name}" set by ${event.sender}: configuring hooks needs power level ${verdict.needs} (they have ${verdict.has}).`);
        return { kind: "ignored" };
      }
    }
    if (this.kind.isRemoval(event.content)) return { kind: "removal", fromBot };
    const result = this.kind.validate(name, event.content);
    if (!result.ok) {
      log.warn({ roomId, hook: name, problems: result.problems }, `invalid ${label} hook state ignored`);
      await this.tell(roomId, origin, `Ignored ${label} hook "${name}": ${result.problems.join("; ")}.`);
      return { kind: "ignored" };
    }
    return { kind: "valid", value: result.value, fromBot };
  }

  /** The settings of content this bridge accepted before (recorded as accepted): validated again, no power check; null when no longer valid. */
  validateAccepted(stateKey: string, content: unknown): T | null {
    if (this.kind.isRemoval(content)) return null;
    const result = this.kind.validate(stateKey, content);
    return result.ok ? result.value : null;
  }

  /** Sends a secret by DM; a failure is logged and reported as false (the caller says what to do instead). */
  async sendSecret(send: () => Promise<void>, context: { roomId: string; hook: string }): Promise<boolean> {
    return send().then(() => true, (err) => {
      this.deps.log.warn({ err, ...context }, `could not send a new ${this.kind.label} hook secret by direct message`);
      return false;
    });
  }

  /** A notice in the room, for live events only (loading state at start must not flood rooms). */
  async tell(roomId: string, origin: StateOrigin, text: string): Promise<void> {
    if (origin !== "live") return;
    await this.announce(roomId, text);
  }

  /** A notice in the room, whatever the origin (for what changed since the room was last seen). */
  async announce(roomId: string, text: string): Promise<void> {
    await this.deps.matrix.sendNotice(roomId, text).catch((err) => this.deps.log.warn({ err, roomId }, "could not send a notice"));
  }

  /** Is a hook loaded this way announced as now active (see nowActiveNotice)? */
  announcesNowActive(origin: StateOrigin, isNew: boolean, fromBot: boolean): boolean {
    return origin === "startup" && isNew && !fromBot;
  }

  /**
   * The notice for a hook active for the first time when loaded at start: its state was set while
   * it could not be accepted (its URL not allowed then, its sender without the power then), while
   * the bridge was away, or for Hookshot (a store new to the room's hooks): the room would not know
   * it now works, nor that a new token or URL went out by DM. Null otherwise.
   */
  nowActiveNotice(origin: StateOrigin, name: string, isNew: boolean, fromBot: boolean, what: string): string | null {
    if (!this.announcesNowActive(origin, isNew, fromBot)) return null;
    const label = this.kind.label === "bot" ? "Webhook bot" : `${this.kind.label[0]!.toUpperCase()}${this.kind.label.slice(1)} hook`;
    return `${label} "${name}" is now active (this bridge had not accepted it before): ${what}`;
  }
}
