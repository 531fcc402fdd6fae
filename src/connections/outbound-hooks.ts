import type { DeliveryQueue } from "../delivery/queue/queue.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { OutboundHooksTable } from "../store/outbound-hooks-table.js";
import { OutboundHookRegistry, type ActiveOutboundHook } from "./outbound-hook-registry.js";
import { isRemoval, OUTBOUND_HOOK_EVENT_TYPE, validateOutboundHookContent } from "./outbound-hook-state.js";
import { mayConfigureHooks, type PermissionVerdict } from "./power-levels.js";

export interface OutboundHooksDeps {
  matrix: MatrixPort;
  table: OutboundHooksTable;
  queue: DeliveryQueue;
  messenger: DirectMessenger;
  /** config permissions.commandPowerLevel */
  configuredMinimumLevel: number | null;
  log: Logger;
}

/** Where a state event came from: live ones are answered in the room, loaded ones only logged. */
export type StateOrigin = "live" | "startup";

/**
 * Outbound hooks as room state: checks who set them, validates, keeps the registry, creates the
 * token (shown once, by DM) and forgets everything when a hook is removed.
 */
export class OutboundHooks {
  readonly registry = new OutboundHookRegistry();

  constructor(private readonly deps: OutboundHooksDeps) {}

  /** May the user configure hooks in this room? Reads the room's current power levels. */
  async permission(roomId: string, userId: string): Promise<PermissionVerdict> {
    const authority = await this.deps.matrix.roomAuthority(roomId);
    return mayConfigureHooks(authority, userId, OUTBOUND_HOOK_EVENT_TYPE, this.deps.configuredMinimumLevel);
  }

  /** Rebuilds the room's hooks from its current state (bot joined, or bridge started). */
  async loadRoom(roomId: string): Promise<void> {
    const state = await this.deps.matrix.roomState(roomId);
    for (const event of state) {
      if (event.type === OUTBOUND_HOOK_EVENT_TYPE) await this.applyState(roomId, event, "startup");
    }
  }

  forgetRoom(roomId: string): void {
    for (const hook of this.registry.forgetRoom(roomId)) this.deps.queue.cancelHook(hook.id);
  }

  async applyState(roomId: string, event: StateEvent, origin: StateOrigin): Promise<void> {
    const name = event.state_key;
    const { matrix, log } = this.deps;
    const fromBot = event.sender === matrix.botUserId;
    if (!fromBot) {
      const verdict = await this.permission(roomId, event.sender);
      if (!verdict.allowed) {
        log.warn({ roomId, hook: name, sender: event.sender, ...verdict }, "outbound hook state from a user without power ignored");
        await this.tell(roomId, origin,
          `Ignored outbound hook "${name}" set by ${event.sender}: configuring hooks needs power level ${verdict.needs} (they have ${verdict.has}).`);
        return;
      }
    }
    if (isRemoval(event.content)) {
      this.remove(roomId, name);
      if (!fromBot) await this.tell(roomId, origin, `Outbound hook "${name}" removed by ${event.sender}.`);
      return;
    }
    const result = validateOutboundHookContent(name, event.content);
    if (!result.ok) {
      log.warn({ roomId, hook: name, problems: result.problems }, "invalid outbound hook state ignored");
      await this.tell(roomId, origin, `Ignored outbound hook "${name}": ${result.problems.join("; ")}.`);
      return;
    }
    const { hook, newToken } = this.deps.table.ensure(roomId, name, event.sender);
    const previous = this.registry.get(roomId, name);
    this.registry.set({ ...result.value, id: hook.id, roomId });
    log.info({ roomId, hook: name, hookId: hook.id, method: result.value.method }, previous ? "outbound hook updated" : "outbound hook active");
    let tokenSent = false;
    if (newToken && !fromBot) {
      tokenSent = await this.sendToken(event.sender, roomId, name, newToken, "created").then(() => true, (err) => {
        log.warn({ err, roomId, hook: name }, "could not send the new token by direct message");
        return false;
      });
    }
    if (!fromBot && origin === "live") {
      await this.tell(roomId, origin, `Outbound hook "${name}" ${previous ? "updated" : "active"}: room events are sent by ${result.value.method}.` +
        (newToken ? (tokenSent ? ` Its token was sent to ${event.sender} in a direct message.`
          : ` Its token could not be sent by direct message; run "!hooks outbound token ${name}" to get a new one.`) : ""));
    }
  }

  /** Drops the hook, its token and its pending deliveries. */
  remove(roomId: string, name: string): ActiveOutboundHook | undefined {
    const active = this.registry.remove(roomId, name);
    const stored = this.deps.table.find(roomId, name);
    if (stored) {
      this.deps.queue.cancelHook(stored.id);
      this.deps.table.remove(stored.id);
    }
    return active;
  }

  /** Creates (or replaces) the hook's token before the bot writes its state; returns it to show once. */
  prepareToken(roomId: string, name: string, createdBy: string): string {
    const { hook, newToken } = this.deps.table.ensure(roomId, name, createdBy);
    return newToken ?? this.deps.table.refreshToken(hook.id);
  }

  /** Undoes prepareToken when the state could not be written. */
  discardPreparedToken(roomId: string, name: string): void {
    if (this.registry.get(roomId, name)) return;
    const stored = this.deps.table.find(roomId, name);
    if (stored) this.deps.table.remove(stored.id);
  }

  refreshToken(hookId: string): string {
    return this.deps.table.refreshToken(hookId);
  }

  async sendToken(userId: string, roomId: string, name: string, token: string, why: "created" | "refreshed"): Promise<void> {
    const text =
      `Token for outbound hook "${name}" in ${roomId} (${why}):\n${token}\n\n` +
      "Receivers get it in the X-Matrix-Hookshot-Token header of every delivery. It is shown only this once; " +
      `"!hooks outbound token ${name}" replaces it.`;
    await this.deps.messenger.send(userId, text);
  }

  private async tell(roomId: string, origin: StateOrigin, text: string): Promise<void> {
    if (origin !== "live") return;
    await this.deps.matrix.sendNotice(roomId, text).catch((err) => this.deps.log.warn({ err, roomId }, "could not send a notice"));
  }
}
