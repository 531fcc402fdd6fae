import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import { checkAvatar, INBOUND_HOOK_EVENT_TYPE, validateInboundHookContent } from "../../connections/inbound-hook-state.js";
import type { InboundHooks } from "../../connections/inbound-hooks.js";
import { hookMay, permissionsField, type InboundPermission, type InboundPermissions } from "../../connections/inbound-permissions.js";
import type { PermissionVerdict } from "../../connections/power-levels.js";
import type { MatrixPort } from "../../matrix/port.js";
import type { Logger } from "../../observability/logger.js";
import { AvatarError } from "../avatar-import.js";
import { badRequest, InboundError } from "../errors.js";
import { homeserverAnswer } from "../homeserver-answer.js";
import { readHookEdit, type HookEdit } from "./hook-edit.js";
import { hookView } from "./hook-view.js";

/** An answer of the management routes: a status and a JSON body (none for 204). */
export interface ManagementAnswer {
  status: number;
  body?: Record<string, unknown>;
}

export interface HookManagementDeps {
  hooks: Pick<InboundHooks, "writeAsBot" | "contentWith" | "renameAsBot" | "registry" | "ghostUserId" | "allowIdentityOverride">;
  matrix: Pick<MatrixPort, "setState" | "sendNotice">;
  /** Imports an avatar image given by URL or data URI; throws AvatarError saying why not. */
  avatars: { import(url: string): Promise<string>; importDataUri(uri: string): Promise<string> };
  log: Logger;
}

/**
 * An inbound hook managed with its URL, as the webhooks RFC has it (`GET|PATCH|DELETE
 * /webhooks/<id>/<token>`): the URL is the credential, no room power is needed. Every change is
 * written to the room's state by the bot (so the room has its record) and told in the room.
 */
export class HookManagement {
  constructor(private readonly deps: HookManagementDeps) {}

  view(hook: ActiveInboundHook): ManagementAnswer {
    return { status: 200, body: hookView(hook, this.deps.hooks.ghostUserId(hook.id), this.deps.hooks.allowIdentityOverride) };
  }

  async edit(requested: ActiveInboundHook, body: Buffer): Promise<ManagementAnswer> {
    const read = readHookEdit(parseJson(body));
    if (!read.ok) throw badRequest(read.problems.join("; "));
    const { edit } = read;
    this.permissionsAfter(requested, edit.permissions); // refused before any image is fetched
    // Fetching an image takes a while: every change below starts from the hook as it is then.
    const avatar = edit.avatar === undefined ? undefined : await this.avatarOf(edit.avatar);
    const hook = this.deps.hooks.registry.byId(requested.id);
    if (!hook) throw new InboundError("not_found", "the hook was removed");
    if (hook.name !== requested.name) throw new InboundError("conflict", "the hook was renamed while this request ran; send it again");
    const permissions = this.permissionsAfter(hook, edit.permissions);
    const changes: Record<string, unknown> = {};
    const said: string[] = [];
    if (avatar !== undefined) {
      if (avatar !== hook.avatar) {
        changes.avatar = avatar;
        said.push(`new avatar ${avatar}`);
      }
    } else if (edit.removeAvatar && hook.avatar !== null) {
      changes.avatar = undefined;
      said.push("avatar removed");
    }
    const turnedOff = [...edit.permissions.keys()].filter((p) => permissions[p] === false && hookMay(hook.permissions, p, this.deps.hooks.allowIdentityOverride));
    if (turnedOff.length > 0) {
      changes.permissions = permissionsField(permissions) ?? undefined;
      said.push(`permission ${turnedOff.join(", ")} turned off`);
    }
    const renamed = edit.name !== undefined && edit.name !== hook.name ? edit.name : null;
    if (renamed !== null) said.unshift(`renamed to "${renamed}"`);
    if (said.length === 0) return this.view(hook);

    const content = await this.deps.hooks.contentWith(hook, renamed === null ? changes : { ...changes, name: renamed });
    const name = renamed ?? hook.name;
    const valid = validateInboundHookContent(name, content);
    if (!valid.ok) throw badRequest(`the hook's state would not be valid: ${valid.problems.join("; ")}`);
    if (renamed !== null) await this.rename(hook, renamed, content);
    else allowedOrForbidden(await this.write(hook.roomId, name, content));
    this.tell(hook.roomId, `Inbound hook "${hook.name}" was changed through its URL: ${said.join(", ")}.`);
    const now = this.deps.hooks.registry.byId(hook.id) ?? { ...hook, ...valid.value };
    return this.view(now);
  }

  async remove(hook: ActiveInboundHook): Promise<ManagementAnswer> {
    allowedOrForbidden(await this.write(hook.roomId, hook.name, {}));
    this.tell(hook.roomId, `Inbound hook "${hook.name}" was deleted through its URL; it no longer works.`);
    return { status: 204 };
  }

  private async rename(hook: ActiveInboundHook, newName: string, content: Record<string, unknown>): Promise<void> {
    const verdict = await this.deps.hooks.renameAsBot(hook, newName, content).catch((err: unknown) => Promise.reject(homeserverAnswer(err)));
    if (verdict === null) throw new InboundError("conflict", `the room already has an inbound hook "${newName}"`);
    allowedOrForbidden(verdict);
  }

  private write(roomId: string, name: string, content: Record<string, unknown>): Promise<PermissionVerdict> {
    return this.deps.hooks.writeAsBot(roomId, name, content).catch((err: unknown) => Promise.reject(homeserverAnswer(err)));
  }

  /** The URL may turn permissions off, never on: that is for the room's admins. */
  private permissionsAfter(hook: ActiveInboundHook, asked: ReadonlyMap<InboundPermission, boolean>): InboundPermissions {
    const next: { -readonly [K in keyof InboundPermissions]: InboundPermissions[K] } = { ...hook.permissions };
    for (const [permission, on] of asked) {
      const has = hookMay(hook.permissions, permission, this.deps.hooks.allowIdentityOverride);
      if (on && !has) throw new InboundError("forbidden", `the hook's ${permission} permission can only be turned on by a room admin ("!hooks inbound permissions"), not through its URL`);
      if (!on) next[permission] = false;
    }
    return next;
  }

  private async avatarOf(given: NonNullable<HookEdit["avatar"]>): Promise<string> {
    if (given.startsWith("mxc://")) {
      const problem = checkAvatar(given);
      if (problem) throw badRequest(`avatar: ${problem}`);
      return given;
    }
    try {
      return given.startsWith("data:") ? await this.deps.avatars.importDataUri(given) : await this.deps.avatars.import(given);
    } catch (err) {
      if (err instanceof AvatarError) throw badRequest(`avatar: ${err.message}`);
      throw homeserverAnswer(err);
    }
  }

  private tell(roomId: string, text: string): void {
    this.deps.matrix.sendNotice(roomId, text).catch((err: unknown) => this.deps.log.warn({ err, roomId }, "could not tell the room about a change of an inbound hook through its URL"));
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw badRequest("the body is empty: send a JSON object with name, avatar, remove or permissions");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw badRequest("the body is not JSON");
  }
}

/** The bot could not write the room's state: the room's admins must give it the power. */
function allowedOrForbidden(verdict: PermissionVerdict): void {
  if (!verdict.allowed) {
    throw new InboundError("forbidden", `the bridge's bot may not change this room's state (${INBOUND_HOOK_EVENT_TYPE} needs power level ${verdict.needs}, it has ${verdict.has}); a room admin must raise its level`);
  }
}
