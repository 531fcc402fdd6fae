import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import { newToken } from "../store/sealed-secret.js";
import type { InboundHooksStore, StoredInboundHook } from "../store/inbound-hooks-table.js";
import type { AcceptedHooksStore } from "../store/accepted-hooks-table.js";
import { InboundHookRegistry, type ActiveInboundHook } from "./inbound-hook-registry.js";
import { acceptedContent, ACCEPTED_FIELDS, INBOUND_HOOK_EVENT_TYPE, isInboundRemoval, validateInboundHookContent, type InboundHookSettings } from "./inbound-hook-state.js";
import { HookStateGate, type StateOrigin } from "./hook-state-gate.js";
import { KeyedSerializer } from "../store/keyed-serializer.js";
import { mayConfigureHooks, type PermissionVerdict, type RoomAuthority } from "./power-levels.js";

export interface InboundHooksDeps {
  matrix: MatrixPort;
  /** The hook state accepted, for the processes that follow this one's rooms (bridge.role). */
  accepted?: AcceptedHooksStore;
  table: InboundHooksStore;
  messenger: DirectMessenger;
  /** config permissions.commandPowerLevel */
  configuredMinimumLevel: number | null;
  /** config inbound.allowIdentityOverride: a hook's masquerade permission when its state does not say (default false). */
  allowIdentityOverride?: boolean;
  /** The public URL of a hook with this secret. */
  hookUrl(secret: string): string;
  /** The user a hook posts as. */
  ghostUserId(hookId: string): string;
  /** Downloads an image (SSRF-guarded, size-capped) into the media repository; returns its mxc:// URI. */
  importAvatar(url: string): Promise<string>;
  /** Takes a removed hook's ghost out of its room (best effort). */
  retireGhost(hook: { id: string; roomId: string }): Promise<void>;
  log: Logger;
}

/**
 * Inbound hooks as room state: checks who set them, validates, keeps the registry, creates the URL
 * secret (shown once, by DM), renames, rotates, and forgets everything when a hook is removed.
 * Each room's steps that read the store and change the registry run one at a time (`rooms`): the
 * store is asynchronous, and a step overtaken by a later one would leave the registry wrong.
 */
export class InboundHooks {
  readonly registry = new InboundHookRegistry();
  private readonly gate: HookStateGate<InboundHookSettings>;
  private readonly rooms = new KeyedSerializer();

  constructor(private readonly deps: InboundHooksDeps) {
    this.gate = new HookStateGate(
      { label: "inbound", eventType: INBOUND_HOOK_EVENT_TYPE, isRemoval: isInboundRemoval, validate: validateInboundHookContent },
      deps,
    );
  }

  get allowIdentityOverride(): boolean {
    return this.deps.allowIdentityOverride ?? false;
  }

  permission(roomId: string, userId: string): Promise<PermissionVerdict> {
    return this.gate.permission(roomId, userId);
  }

  /** Rebuilds the room's hooks from its current state, as read (bot joined, or bridge started). */
  async loadRoom(roomId: string, state: readonly StateEvent[], origin: "startup" | "joined"): Promise<void> {
    await this.gate.loadRoom(state, (event, authority) => this.applyState(roomId, event, origin, authority));
    // What was accepted before and is not now goes (see OutboundHooks.loadRoom).
    await this.rooms.run(roomId, async () => {
      for (const row of (await this.deps.accepted?.forRoom(roomId)) ?? []) {
        if (row.eventType === INBOUND_HOOK_EVENT_TYPE && !this.registry.get(roomId, row.stateKey)) await this.deps.accepted!.forget(roomId, row.eventType, row.stateKey);
      }
    });
  }

  /**
   * Another process applied the room's hook state (it owns the store's records and tells the room):
   * the registry follows what it accepted (`accepted`), never the room's state judged again.
   * Nothing is written or sent here; a hook whose record is missing is left out.
   */
  followRoom(roomId: string): Promise<void> {
    return this.rooms.runJoining(roomId, () => this.followNow(roomId));
  }

  private async followNow(roomId: string): Promise<void> {
    const rows = ((await this.deps.accepted?.forRoom(roomId)) ?? []).filter((row) => row.eventType === INBOUND_HOOK_EVENT_TYPE);
    const stored = new Map(rows.length > 0 ? (await this.deps.table.forRoom(roomId)).map((hook) => [hook.name, hook]) : []);
    const kept = new Set<string>();
    for (const row of rows) {
      const value = this.gate.validateAccepted(row.stateKey, row.content);
      const record = value ? stored.get(row.stateKey) : undefined;
      if (!value || !record) continue;
      this.registry.set({ ...value, id: record.id, roomId, ...(row.eventId ? { stateEventId: row.eventId } : {}) });
      kept.add(record.id);
    }
    for (const hook of this.registry.forRoom(roomId)) if (!kept.has(hook.id)) this.registry.remove(roomId, hook.name);
  }

  /** Removes the hook a redaction of its state event removes (see HookStateGate.redactedHook); returns its name. */
  async removeRedacted(roomId: string, redactedEventId: string, redactor: string): Promise<string | null> {
    const hook = await this.gate.redactedHook(roomId, this.registry.forRoom(roomId), redactedEventId, redactor);
    if (hook) await this.remove(roomId, hook.name);
    return hook?.name ?? null;
  }

  /** The bot left the room: its hooks stop answering (their store records stay, in case it comes back). */
  async forgetRoom(roomId: string): Promise<void> {
    const drop = async () => {
      this.registry.forgetRoom(roomId);
      await this.deps.accepted?.forgetRoom(roomId);
    };
    // A step queued before the bot left would put the room's hooks back: dropped again after it.
    const again = this.rooms.busy(roomId) ? this.rooms.run(roomId, drop) : null;
    await Promise.all([drop(), again]);
  }

  /**
   * While the bridge starts: how to wait until a room's hooks are loaded (null when there is
   * nothing to wait for), so that a request to a hook of a room not loaded yet is not answered 404.
   */
  waitForRooms(loaded: (roomId: string) => Promise<void> | null): void {
    this.roomLoaded = loaded;
  }
  private roomLoaded: (roomId: string) => Promise<void> | null = () => null;

  /**
   * The live hook a request's secret names, or null (unknown, removed or expired); while its
   * room's hooks are still loading at start, once they are.
   */
  async resolve(secret: string, now = Date.now()): Promise<ActiveInboundHook | null> {
    const stored = await this.deps.table.bySecret(secret);
    if (!stored) return null;
    if (!this.registry.byId(stored.id)) await this.roomLoaded(stored.roomId);
    return this.live(stored.id, now);
  }

  private live(hookId: string, now: number): ActiveInboundHook | null {
    const hook = this.registry.byId(hookId);
    if (!hook || (hook.expiresAt !== null && now >= hook.expiresAt)) return null;
    return hook;
  }

  /** `authority`: the room's, when read with its state already (loading); else it is fetched. */
  async applyState(roomId: string, event: StateEvent, origin: StateOrigin, authority?: RoomAuthority): Promise<void> {
    const name = event.state_key;
    const { log } = this.deps;
    const admission = await this.gate.admit(roomId, event, origin, authority);
    if (admission.kind === "ignored") return;
    if (admission.kind === "removal") {
      if ((await this.remove(roomId, name)) && !admission.fromBot) {
        await this.gate.tell(roomId, origin, `Inbound hook "${name}" removed by ${event.sender}; its URL no longer works.`);
      }
      return;
    }
    const { value, fromBot } = admission;
    const { hook, newSecret, previous } = await this.rooms.run(roomId, async () => {
      const { hook, newSecret } = await this.deps.table.ensure(roomId, name, event.sender);
      const previous = this.registry.byId(hook.id);
      this.registry.set({ ...value, id: hook.id, roomId, stateEventId: event.event_id });
      await this.deps.accepted?.accept(roomId, INBOUND_HOOK_EVENT_TYPE, name, event.event_id ?? null, event.content);
      return { hook, newSecret, previous };
    });
    log.info({ roomId, hook: name, hookId: hook.id }, previous ? "inbound hook updated" : "inbound hook active");
    const urlSent = newSecret && !fromBot
      ? await this.gate.sendSecret(() => this.sendUrl(event.sender, roomId, name, newSecret, "created"), { roomId, hook: name })
      : false;
    const urlNote = newSecret ? (urlSent ? `Its URL was sent to ${event.sender} in a direct message.`
      : `Its URL could not be sent by direct message; run "!hooks inbound rotate ${name}" to get a new one.`) : "";
    if (!fromBot && origin === "live") await this.gate.tell(roomId, origin, `Inbound hook "${name}" ${previous ? "updated" : "active"}.${urlNote ? ` ${urlNote}` : ""}`);
    const nowActive = this.gate.nowActiveNotice(origin, name, Boolean(newSecret), fromBot, urlNote || "it posts into this room.");
    if (nowActive) await this.gate.announce(roomId, nowActive);
  }


  /**
   * Writes a hook's state as the bot and applies it at once (so the change holds before the event
   * comes back from the homeserver). Not written when the bot lacks the power: the verdict says
   * what it has and needs.
   */
  async writeAsBot(roomId: string, name: string, content: Record<string, unknown>): Promise<PermissionVerdict> {
    const { matrix } = this.deps;
    const verdict = mayConfigureHooks(await matrix.roomAuthority(roomId), matrix.botUserId, INBOUND_HOOK_EVENT_TYPE, null);
    if (!verdict.allowed) return verdict;
    const eventId = await matrix.setState(roomId, INBOUND_HOOK_EVENT_TYPE, name, content);
    await this.applyState(roomId, { type: INBOUND_HOOK_EVENT_TYPE, state_key: name, sender: matrix.botUserId, content, event_id: eventId }, "live");
    return verdict;
  }

  /**
   * The hook's state content with `changes` applied (a key set to undefined is removed). Every
   * field this bridge reads comes from the hook as it was accepted — never from the room's current
   * state, which someone without the power may have written (ignored then, and the bot must not
   * make it official by writing it back); fields it does not know (Hookshot's) are kept.
   */
  async contentWith(hook: ActiveInboundHook, changes: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const current = (await this.deps.matrix.stateContent(hook.roomId, INBOUND_HOOK_EVENT_TYPE, hook.name)) ?? {};
    const accepted = acceptedContent(hook);
    const content: Record<string, unknown> = { ...current };
    for (const key of ACCEPTED_FIELDS) delete content[key];
    Object.assign(content, accepted);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete content[key];
      else content[key] = value;
    }
    return content;
  }

  /**
   * Renames a hook as the bot: same id (so the same URL and user) under the new name, its state
   * (`content`) written there and emptied under the old name. Null when the name is taken; a
   * refused verdict (bot without the power) or a failed write leaves the hook as it was.
   */
  async renameAsBot(hook: ActiveInboundHook, newName: string, content: Record<string, unknown>): Promise<PermissionVerdict | null> {
    if (this.registry.get(hook.roomId, newName) || !(await this.rename(hook, newName))) return null;
    const undo = () => this.rename({ ...hook, name: newName }, hook.name);
    let verdict: PermissionVerdict;
    try {
      verdict = await this.writeAsBot(hook.roomId, newName, content);
    } catch (err) {
      // The write's failure is what the caller hears; an undo that fails too is logged.
      await undo().catch((undoErr: unknown) => this.deps.log.error({ err: undoErr, roomId: hook.roomId, hook: newName }, "a rename whose state could not be written could not be undone"));
      throw err;
    }
    if (!verdict.allowed) {
      await undo();
      return verdict;
    }
    await this.emptyOldName(hook.roomId, hook.name, newName);
    return verdict;
  }

  /**
   * After a rename, empties the state under the old name (tried twice). Left behind, it would come
   * back as a second hook at the next start: when it cannot be emptied the room is told how to.
   */
  async emptyOldName(roomId: string, oldName: string, newName: string): Promise<void> {
    const empty = () => this.deps.matrix.setState(roomId, INBOUND_HOOK_EVENT_TYPE, oldName, {});
    await empty().catch(empty).catch(async (err: unknown) => {
      this.deps.log.warn({ err, roomId, hook: oldName }, "the renamed hook's old state could not be emptied");
      await this.gate.tell(roomId, "live", `Inbound hook "${oldName}" is now "${newName}", but its state under the old name could not be removed (${(err as Error)?.message ?? String(err)}). ` +
        `Send the state event ${INBOUND_HOOK_EVENT_TYPE} with state key "${oldName}" and empty content, or it comes back as a second hook when the bridge restarts.`);
    });
  }

  /** Creates the hook's store record before the bot writes its state; returns the URL secret to show once. */
  async prepare(roomId: string, name: string, createdBy: string): Promise<string> {
    const { hook, newSecret } = await this.deps.table.ensure(roomId, name, createdBy);
    return newSecret ?? this.deps.table.rotate(hook.id);
  }

  /** Undoes prepare when the state could not be written. */
  async discardPrepared(roomId: string, name: string): Promise<void> {
    await this.rooms.run(roomId, async () => {
      if (this.registry.get(roomId, name)) return;
      const stored = await this.deps.table.find(roomId, name);
      if (stored) await this.deps.table.remove(stored.id);
    });
  }

  /** Drops the hook and its secrets; its ghost leaves the room. Returns whether there was one. */
  async remove(roomId: string, name: string): Promise<boolean> {
    const gone = await this.rooms.run(roomId, async () => {
      // Out of the registry first: the URL stops working even if the store cannot be written now.
      const active = this.registry.remove(roomId, name);
      await this.deps.accepted?.forget(roomId, INBOUND_HOOK_EVENT_TYPE, name);
      const stored = await this.deps.table.find(roomId, name);
      if (stored) await this.deps.table.remove(stored.id);
      return active ?? stored;
    });
    if (!gone) return false;
    this.deps.retireGhost({ id: gone.id, roomId }).catch((err) => this.deps.log.warn({ err, roomId, hook: name }, "the hook's ghost could not leave the room"));
    return true;
  }

  /**
   * Moves the hook to a new name in the store and registry (same id, so the same ghost and URL);
   * the caller then writes the state under the new name. False when the name is taken.
   */
  rename(hook: ActiveInboundHook, newName: string): Promise<boolean> {
    return this.rooms.run(hook.roomId, async () => {
      if (!(await this.deps.table.rename(hook.id, newName))) return false;
      this.registry.set({ ...hook, name: newName });
      return true;
    });
  }

  /** A new URL secret; the old URL answers 404 from now on. */
  rotate(hookId: string): Promise<string> {
    return this.deps.table.rotate(hookId);
  }

  stored(hookId: string): Promise<StoredInboundHook | null> {
    return this.deps.table.byId(hookId);
  }

  ghostUserId(hookId: string): string {
    return this.deps.ghostUserId(hookId);
  }

  importAvatar(url: string): Promise<string> {
    return this.deps.importAvatar(url);
  }

  githubSecret(hookId: string): Promise<string | null> {
    return this.deps.table.githubSecret(hookId);
  }

  /** A fresh GitHub webhook secret (returned to show once), or null to stop requiring signatures. */
  async setGithubSecret(hookId: string, enable: boolean): Promise<string | null> {
    const secret = enable ? newToken() : null;
    await this.deps.table.setGithubSecret(hookId, secret);
    return secret;
  }

  async sendUrl(userId: string, roomId: string, name: string, secret: string, why: "created" | "rotated"): Promise<void> {
    const url = this.deps.hookUrl(secret);
    const text =
      `URL of inbound hook "${name}" in ${roomId} (${why}):\n${url}\n\n` +
      `POST or PUT JSON ({"text": "markdown"}, "html", "msgtype"), a form (payload=JSON) or plain text to it; ` +
      `Slack incoming-webhook payloads go to ${url}/slack, GitHub webhooks to ${url}/github and Discord webhook bodies to ${url}/discord. ` +
      `The same URL manages the hook: GET shows it, PATCH changes its name or avatar, DELETE removes it. ` +
      `Anyone with this URL can post into the room: it is shown only this once, and "!hooks inbound rotate ${name}" replaces it.`;
    await this.deps.messenger.send(userId, text);
  }

  async sendGithubSecret(userId: string, roomId: string, name: string, secret: string): Promise<void> {
    const text =
      `GitHub secret of inbound hook "${name}" in ${roomId}:\n${secret}\n\n` +
      "Paste it as the webhook's Secret in GitHub. From now on requests to the hook's /github URL need a valid " +
      "X-Hub-Signature-256 made with it. It is shown only this once.";
    await this.deps.messenger.send(userId, text);
  }

}
