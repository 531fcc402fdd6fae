import { checkInboundName } from "../../connections/inbound-hook-state.js";
import { INBOUND_PERMISSIONS, type InboundPermission } from "../../connections/inbound-permissions.js";

/**
 * A `PATCH /webhook/{id}` body, as the webhooks RFC's WebhookEditBody has it: a new name, a new
 * avatar (mxc://, an http(s) image URL, or Discord's `data:image/…;base64,…`), fields to remove
 * (`["avatar"]`) and permissions — which the URL may only turn off (turning one on is for the
 * room's admins, by command).
 */
export interface HookEdit {
  name?: string;
  avatar?: string;
  removeAvatar: boolean;
  /** Permission → the value asked for. */
  permissions: ReadonlyMap<InboundPermission, boolean>;
}

const FIELDS = new Set(["name", "avatar", "remove", "permissions"]);
// Revolt's RemoveFields enum is written "Avatar".
const REMOVABLE = new Set(["avatar", "Avatar"]);
const PERMISSIONS = new Set<string>(INBOUND_PERMISSIONS);

/** Reads the body (already parsed JSON); every problem is named, so the sender can fix them all at once. */
export function readHookEdit(value: unknown): { ok: true; edit: HookEdit } | { ok: false; problems: string[] } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, problems: ["the body must be a JSON object"] };
  const body = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) problems.push(`"${key.slice(0, 40)}" is not a field of a webhook edit (name, avatar, remove, permissions)`);
  const edit: { name?: string; avatar?: string; removeAvatar: boolean; permissions: Map<InboundPermission, boolean> } = { removeAvatar: false, permissions: new Map() };
  if (Object.hasOwn(body, "name")) {
    const problem = typeof body.name === "string" ? checkInboundName(body.name) : "it must be a string";
    if (problem) problems.push(`name: ${problem}`);
    else edit.name = body.name as string;
  }
  if (Object.hasOwn(body, "avatar")) {
    if (typeof body.avatar !== "string" || !/^(mxc:\/\/|https?:\/\/|data:)/i.test(body.avatar)) problems.push("avatar: an mxc:// URI, an http(s) image URL or a data:image/…;base64 URI");
    else edit.avatar = body.avatar;
  }
  if (Object.hasOwn(body, "remove")) {
    if (!Array.isArray(body.remove) || !body.remove.every((f) => typeof f === "string" && REMOVABLE.has(f))) problems.push('remove: a list of fields to clear; only "avatar" can be');
    else edit.removeAvatar = body.remove.length > 0;
  }
  if (edit.removeAvatar && edit.avatar !== undefined) problems.push("avatar: cannot be set and removed at once");
  if (Object.hasOwn(body, "permissions")) {
    const given = body.permissions;
    if (typeof given !== "object" || given === null || Array.isArray(given)) problems.push(`permissions: an object of ${INBOUND_PERMISSIONS.join(", ")}, each true or false`);
    else {
      for (const [key, on] of Object.entries(given)) {
        if (!PERMISSIONS.has(key)) problems.push(`permissions: "${key.slice(0, 40)}" is not a permission (${INBOUND_PERMISSIONS.join(", ")})`);
        else if (typeof on !== "boolean") problems.push(`permissions.${key}: true or false`);
        else edit.permissions.set(key as InboundPermission, on);
      }
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, edit };
}
