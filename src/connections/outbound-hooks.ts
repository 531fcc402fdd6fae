import { isIP } from "node:net";
import type { DeliveryQueue, ReplayWhich } from "../delivery/queue/queue.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import { newSigningSecret } from "../delivery/signing.js";
import type { SsrfGuard } from "../egress/ssrf.js";
import type { OutboundHooksStore } from "../store/outbound-hooks-table.js";
import type { SigningKeysStore } from "../store/signing-keys-table.js";
import type { AcceptedHooksStore } from "../store/accepted-hooks-table.js";
import { describeHook } from "./describe-hook.js";
import { laneIds } from "./hook-lanes.js";
import { BOT_EVENT_TYPE, validateBotContent } from "./bot-state.js";
import { OutboundHookRegistry, type ActiveOutboundHook, type HookKind } from "./outbound-hook-registry.js";
import { isRemoval, OUTBOUND_HOOK_EVENT_TYPE, validateOutboundHookContent, type OutboundHookSettings } from "./outbound-hook-state.js";
import { HookStateGate, type StateOrigin } from "./hook-state-gate.js";
import type { PermissionVerdict, RoomAuthority } from "./power-levels.js";
import type { HookTls } from "./hook-tls.js";
import type { LastFailure, LastFailures } from "./last-failures.js";
import { KeyedSerializer } from "../store/keyed-serializer.js";

export interface OutboundHooksDeps {
  matrix: MatrixPort;
  table: OutboundHooksStore;
  signingKeys: SigningKeysStore;
  queue: DeliveryQueue;
  /** How long a rotated-out signing secret keeps signing. */
  signingKeyGraceMs: number;
  messenger: DirectMessenger;
  /** Refuses hook URLs that point at private networks. */
  guard: SsrfGuard;
  /** config permissions.commandPowerLevel */
  configuredMinimumLevel: number | null;
  log: Logger;
  /** Webhook bots' ghosts: join the room when a bot is added, leave when it is removed. */
  botGhosts?: BotGhostLifecycle;
  /** A sentence for a before-hook's activation notice: how its verdicts take effect in the room (src/callbacks/before-hook-notice.ts). */
  beforeHookNote?: (roomId: string) => Promise<string>;
  /** Hooks' TLS material: config profiles (state field tls_profile) and uploads. */
  tls: HookTls;
  /** The hook state accepted, for the processes that follow this one's rooms (bridge.role). */
  accepted?: AcceptedHooksStore;
  /** Each hook's last failed attempt, classified (written by the delivery targets). */
  lastFailures: LastFailures;
}

export interface BotGhostLifecycle {
  added(bot: ActiveOutboundHook): Promise<void>;
  removed(bot: ActiveOutboundHook): void;
}

/** The state event type of each kind. */
export const EVENT_TYPE_OF: Readonly<Record<HookKind, string>> = { hook: OUTBOUND_HOOK_EVENT_TYPE, bot: BOT_EVENT_TYPE };

/** The kind of hook a state event configures, or null when it configures none. */
export function kindOfEventType(type: string): HookKind | null {
  return type === OUTBOUND_HOOK_EVENT_TYPE ? "hook" : type === BOT_EVENT_TYPE ? "bot" : null;
}

/** How people read each kind's name in notices. */
export const KIND_LABEL: Readonly<Record<HookKind, string>> = { hook: "Outbound hook", bot: "Webhook bot" };

export type { StateOrigin } from "./hook-state-gate.js";

/**
 * Outbound hooks as room state: checks who set them, validates, keeps the registry, creates the
 * token (shown once, by DM) and forgets everything when a hook is removed. Each room's steps that
 * read the store and change the registry run one at a time (`rooms`, as in InboundHooks).
 */
export class OutboundHooks {
  readonly registry = new OutboundHookRegistry();
  private readonly gates: Readonly<Record<HookKind, HookStateGate<OutboundHookSettings>>>;
  /** Each room's steps that read or write the accepted state and change the registry, one at a time (the store is asynchronous). */
  private readonly rooms = new KeyedSerializer();

  constructor(private readonly deps: OutboundHooksDeps) {
    this.gates = {
      hook: new HookStateGate({ label: "outbound", eventType: OUTBOUND_HOOK_EVENT_TYPE, isRemoval, validate: validateOutboundHookContent }, deps),
      bot: new HookStateGate({ label: "bot", eventType: BOT_EVENT_TYPE, isRemoval, validate: validateBotContent }, deps),
    };
  }

  /** May the user configure hooks (or bots) in this room? Reads the room's current power levels. */
  permission(roomId: string, userId: string, kind: HookKind = "hook"): Promise<PermissionVerdict> {
    return this.gates[kind].permission(roomId, userId);
  }

  /** Rebuilds the room's hooks and bots from its current state, as read (bot joined, or bridge started). */
  async loadRoom(roomId: string, state: readonly StateEvent[], origin: "startup" | "joined"): Promise<void> {
    for (const gate of Object.values(this.gates)) await gate.loadRoom(state, (event, authority) => this.applyState(roomId, event, origin, authority));
    // What was accepted before and is not now (its sender lost the power, it was removed while the bridge was away) goes.
    await this.rooms.run(roomId, async () => {
      for (const row of (await this.deps.accepted?.forRoom(roomId)) ?? []) {
        const kind = kindOfEventType(row.eventType);
        if (kind !== null && !this.registry.get(roomId, row.stateKey, kind)) await this.deps.accepted!.forget(roomId, row.eventType, row.stateKey);
      }
    });
  }

  /** Removes the hook or bot a redaction of its state event removes (see HookStateGate.redactedHook). */
  async removeRedacted(roomId: string, redactedEventId: string, redactor: string): Promise<{ kind: HookKind; name: string } | null> {
    for (const kind of ["hook", "bot"] as const) {
      const hook = await this.gates[kind].redactedHook(roomId, this.registry.ofKind(roomId, kind), redactedEventId, redactor);
      if (hook) {
        await this.remove(roomId, hook.name, kind);
        return { kind, name: hook.name };
      }
    }
    return null;
  }

  forgetRoom(roomId: string): Promise<void> {
    return this.rooms.run(roomId, async () => {
      for (const hook of this.registry.forgetRoom(roomId)) {
        this.cancelLanes(hook.id, laneIds(hook));
        if (hook.kind === "bot") this.deps.botGhosts?.removed(hook);
      }
      await this.deps.accepted?.forgetRoom(roomId);
    });
  }

  private cancelLanes(hookId: string, lanes: readonly string[]): void {
    for (const lane of new Set([hookId, ...lanes])) {
      // Jobs the store still hands out are dropped by the worker (their hook no longer resolves).
      this.deps.queue.cancelHook(lane).catch((err: unknown) => this.deps.log.warn({ err, hookId: lane }, "could not drop the removed hook's pending jobs; the worker drops them as they come"));
    }
  }

  /** `authority`: the room's, when read with its state already (loading); else it is fetched. */
  async applyState(roomId: string, event: StateEvent, origin: StateOrigin, authority?: RoomAuthority): Promise<void> {
    const kind = kindOfEventType(event.type);
    if (kind === null) return;
    const gate = this.gates[kind];
    const label = KIND_LABEL[kind];
    const name = event.state_key;
    const { log } = this.deps;
    const admission = await gate.admit(roomId, event, origin, authority);
    if (admission.kind === "ignored") return;
    if (admission.kind === "removal") {
      await this.remove(roomId, name, kind);
      if (!admission.fromBot) await gate.tell(roomId, origin, `${label} "${name}" removed by ${event.sender}.`);
      return;
    }
    const { value, fromBot } = admission;
    const refused = await this.refusal(value, origin === "live");
    if (refused) {
      log.warn({ roomId, hook: name, kind, refused }, "outbound hook refused");
      await gate.tell(roomId, origin, `Ignored ${label.toLowerCase()} "${name}": ${refused}.`);
      return;
    }
    const { hook, newToken, previous, active } = await this.rooms.run(roomId, async () => {
      const { hook, newToken } = await this.deps.table.ensure(roomId, name, event.sender, Date.now(), kind);
      const previous = this.registry.get(roomId, name, kind);
      const active: ActiveOutboundHook = { ...value, kind, id: hook.id, roomId, stateEventId: event.event_id };
      this.registry.set(active);
      await this.deps.accepted?.accept(roomId, event.type, name, event.event_id ?? null, event.content);
      return { hook, newToken, previous, active };
    });
    // A URL taken out of the list: its waiting deliveries go nowhere now.
    if (previous) {
      const kept = new Set(laneIds({ id: hook.id, urls: value.urls }));
      this.cancelLanes(hook.id, laneIds(previous).filter((lane) => !kept.has(lane)));
    }
    log.info({ roomId, hook: name, kind, hookId: hook.id, method: value.method }, previous ? `${kind} updated` : `${kind} active`);
    // The ghost joins before anyone is told the bot is there (a failure is logged; replies join again).
    if (kind === "bot") await this.deps.botGhosts?.added(active).catch((err: unknown) => log.warn({ err, roomId, bot: name }, "the bot's ghost could not join the room yet"));
    const tokenSent = newToken && !fromBot
      ? await gate.sendSecret(() => this.sendToken(event.sender, roomId, name, newToken, "created", kind), { roomId, hook: name })
      : false;
    const tokenNote = newToken ? (tokenSent ? ` Its token was sent to ${event.sender} in a direct message.`
      : ` Its token could not be sent by direct message; run "!hooks ${kind === "bot" ? "bot" : "outbound"} token ${name}" to get a new one.`) : "";
    // Only for a notice: loading thousands of hooks at a start tells nobody, so it builds none.
    const sentBy = async (): Promise<string> =>
      `${kind === "bot" ? `mentions of it and direct messages to it are sent by ${value.method}` : describeHook(value)}.${await this.beforeHookNote(roomId, value)}${tokenNote}`;
    if (!fromBot && origin === "live") await gate.tell(roomId, origin, `${label} "${name}" ${previous ? "updated" : "active"}: ${await sentBy()}`);
    if (gate.announcesNowActive(origin, Boolean(newToken), fromBot)) {
      const nowActive = gate.nowActiveNotice(origin, name, true, fromBot, await sentBy());
      if (nowActive) await gate.announce(roomId, nowActive);
    }
  }

  /**
   * Why the hook cannot be used: a URL the SSRF guard refuses or an unknown TLS profile; or null.
   * Live changes are checked against the guard now. Loaded from state only IP literals are (a DNS
   * hiccup must not drop a hook); every send is checked again anyway.
   */
  private async refusal(value: OutboundHookSettings, live: boolean): Promise<string | null> {
    for (const url of value.urls) {
      const refused = live || isIpLiteralUrl(url) ? await this.checkDestination(url) : null;
      if (refused) return refused;
    }
    return this.deps.tls.profileProblem(value.tlsProfile);
  }

  /**
   * Another process applied the room's hook state (it owns the store's records and tells the room):
   * the registry follows what it accepted (`accepted`), never the room's state judged again.
   * Nothing is written, sent or cancelled here; a hook whose record is missing is left out.
   */
  followRoom(roomId: string): Promise<void> {
    return this.rooms.runJoining(roomId, () => this.followNow(roomId));
  }

  private async followNow(roomId: string): Promise<void> {
    const kept = new Set<string>();
    for (const row of (await this.deps.accepted?.forRoom(roomId)) ?? []) {
      const kind = kindOfEventType(row.eventType);
      const value = kind === null ? null : this.gates[kind].validateAccepted(row.stateKey, row.content);
      const stored = kind !== null && value ? await this.deps.table.find(roomId, row.stateKey, kind) : null;
      if (!kind || !value || !stored) continue;
      this.registry.set({ ...value, kind, id: stored.id, roomId, ...(row.eventId ? { stateEventId: row.eventId } : {}) });
      kept.add(stored.id);
    }
    for (const hook of this.registry.forRoom(roomId)) if (!kept.has(hook.id)) this.registry.remove(roomId, hook.name, hook.kind);
  }

  /** For a before-hook, a sentence on how its verdicts take effect in the room (module, or redaction and the bot's power); "" otherwise. */
  async beforeHookNote(roomId: string, hook: Pick<OutboundHookSettings, "callback">): Promise<string> {
    if (hook.callback?.phase !== "before" || !this.deps.beforeHookNote) return "";
    return this.deps.beforeHookNote(roomId).catch(() => "");
  }

  /** Why the bridge will not send to `url` (private or unresolvable destination), or null. */
  checkDestination(url: string): Promise<string | null> {
    return this.deps.guard.checkUrl(url);
  }

  /** Drops the hook (or bot: its ghost leaves), its token and its pending deliveries. */
  remove(roomId: string, name: string, kind: HookKind = "hook"): Promise<ActiveOutboundHook | undefined> {
    return this.rooms.run(roomId, async () => {
      const active = this.registry.remove(roomId, name, kind);
      await this.deps.accepted?.forget(roomId, EVENT_TYPE_OF[kind], name);
      const stored = await this.deps.table.find(roomId, name, kind);
      if (stored) {
        this.cancelLanes(stored.id, active ? laneIds(active) : []);
        await this.deps.table.remove(stored.id);
        this.deps.tls.forget(stored.id);
        this.deps.lastFailures.forget(stored.id);
      }
      if (active?.kind === "bot") this.deps.botGhosts?.removed(active);
      return active;
    });
  }

  /** Creates (or replaces) the hook's token before the bot writes its state; returns it to show once. */
  async prepareToken(roomId: string, name: string, createdBy: string, kind: HookKind = "hook"): Promise<string> {
    const { hook, newToken } = await this.deps.table.ensure(roomId, name, createdBy, Date.now(), kind);
    return newToken ?? this.deps.table.refreshToken(hook.id);
  }

  /** Undoes prepareToken when the state could not be written. */
  async discardPreparedToken(roomId: string, name: string, kind: HookKind = "hook"): Promise<void> {
    if (this.registry.get(roomId, name, kind)) return;
    const stored = await this.deps.table.find(roomId, name, kind);
    if (stored) await this.deps.table.remove(stored.id);
  }

  refreshToken(hookId: string): Promise<string> {
    return this.deps.table.refreshToken(hookId);
  }

  /** Starts signing with a new secret (the old one keeps signing for the grace period); returns it to show once. */
  async rotateSigningSecret(hookId: string): Promise<{ secret: string; previousStillSigns: boolean }> {
    const previousStillSigns = this.deps.signingKeys.active(hookId).length > 0 && this.deps.signingKeyGraceMs > 0;
    const secret = newSigningSecret();
    await this.deps.signingKeys.rotate(hookId, secret, this.deps.signingKeyGraceMs);
    return { secret, previousStillSigns };
  }

  async stopSigning(hookId: string): Promise<boolean> {
    return (await this.deps.signingKeys.clear(hookId)) > 0;
  }

  /** Hooks' TLS material (profiles and uploads), for the tls commands, list and status. */
  get tls(): HookTls {
    return this.deps.tls;
  }

  /** The hook's last failed attempt since this bridge started, classified. */
  lastFailure(hookId: string): LastFailure | undefined {
    return this.deps.lastFailures.get(hookId);
  }

  /** The store's record of the hook (suspension, failures), for status and pause/resume. */
  stored(hookId: string) {
    return this.deps.table.byId(hookId);
  }

  pause(hookId: string, by: string): Promise<boolean> {
    return this.deps.table.suspend(hookId, `paused by ${by}`);
  }

  /** Resumes a paused or disabled hook; the worker picks its waiting deliveries up within a second. */
  resume(hookId: string): Promise<boolean> {
    return this.deps.table.resume(hookId);
  }

  /** Replays on every URL of the hook; resolves with how many deliveries were queued again. */
  async replay(hookId: string, which: ReplayWhich): Promise<number> {
    let total = 0;
    for (const lane of this.lanesOf(hookId)) total += await this.deps.queue.replay(lane, which);
    return total;
  }

  /** The queue's numbers over all of the hook's URLs, and its most recent attempts on any of them. */
  async queueStatus(hookId: string, recentAttempts: number) {
    const lanes = await Promise.all(this.lanesOf(hookId).map((lane) => this.deps.queue.hookStatus(lane, recentAttempts)));
    return {
      pending: lanes.reduce((n, l) => n + l.pending, 0),
      dead: lanes.reduce((n, l) => n + l.dead, 0),
      delivered: lanes.reduce((n, l) => n + l.delivered, 0),
      recent: lanes.flatMap((l) => l.recent).sort((a, b) => b.at - a.at).slice(0, recentAttempts),
    };
  }

  private lanesOf(hookId: string): string[] {
    const hook = this.registry.byId(hookId);
    return hook ? laneIds(hook) : [hookId];
  }

  async sendToken(userId: string, roomId: string, name: string, token: string, why: "created" | "refreshed", kind: HookKind = "hook"): Promise<void> {
    const text = kind === "bot"
      ? `Token for webhook bot "${name}" in ${roomId} (${why}):\n${token}\n\n` +
        "The bot's server gets it in the token field of every request (and the X-Matrix-Hookshot-Token header). It is shown only this once; " +
        `"!hooks bot token ${name}" replaces it.`
      : `Token for outbound hook "${name}" in ${roomId} (${why}):\n${token}\n\n` +
        "Receivers get it in the X-Matrix-Hookshot-Token header of every delivery. It is shown only this once; " +
        `"!hooks outbound token ${name}" replaces it.`;
    await this.deps.messenger.send(userId, text);
  }

  async sendSecret(userId: string, roomId: string, name: string, secret: string): Promise<void> {
    const text =
      `Signing secret for outbound hook "${name}" in ${roomId}:\n${secret}\n\n` +
      "Deliveries carry webhook-id, webhook-timestamp and webhook-signature headers (Standard Webhooks); verify them " +
      "with this secret, e.g. with the standardwebhooks package. It is shown only this once.";
    await this.deps.messenger.send(userId, text);
  }

}

function isIpLiteralUrl(url: string): boolean {
  return isIP(new URL(url).hostname.replace(/^\[|\]$/g, "")) !== 0;
}
