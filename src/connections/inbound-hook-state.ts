import { Ajv } from "ajv";
import { schemaProblems } from "./schema-problems.js";
import { isMxcUri } from "../config/formats.js";
import type { Validation } from "./outbound-hook-state.js";
import { MAX_TRANSFORMATION_FUNCTION_CHARS } from "../transform/limits.js";
import { PERMISSIONS_SCHEMA, permissionsField, permissionsOf, type InboundPermissions } from "./inbound-permissions.js";

/** Hookshot's generic (inbound) webhook state event; state_key = hook name. */
export const INBOUND_HOOK_EVENT_TYPE = "uk.half-shot.matrix-hookshot.generic.hook";
/** As the webhooks RFC says: 1 to 32 characters. */
export const MAX_INBOUND_NAME_LENGTH = 32;
export const INBOUND_MSGTYPES = ["m.notice", "m.text", "m.emote"] as const;
export type InboundMsgtype = (typeof INBOUND_MSGTYPES)[number];
/** Hookshot posts notices; so do we unless the hook says otherwise. */
export const DEFAULT_INBOUND_MSGTYPE: InboundMsgtype = "m.notice";

/** A valid inbound hook as configured in room state. */
export interface InboundHookSettings {
  /** Also the display name of the hook's ghost user. */
  name: string;
  /** mxc:// avatar of the ghost user, or null. */
  avatar: string | null;
  msgtype: InboundMsgtype;
  /** Hookshot's expirationDate: after it the URL answers 404. */
  expiresAt: number | null;
  /** What the hook may do (the webhooks RFC's permissions): inbound-permissions.ts. */
  permissions: InboundPermissions;
  /** Hookshot's JavaScript turning a payload into the message (src/transform/); absent or null: none. */
  transformationFunction?: string | null;
}

// Hookshot's fields (hookId is display-only there and ignored here: the secret never lives in state;
// waitForComplete is accepted and not used) plus ours (avatar, msgtype).
const schema = {
  type: "object",
  required: ["name"],
  properties: {
    name: { type: "string", minLength: 1 },
    avatar: { type: ["string", "null"] },
    msgtype: { enum: [...INBOUND_MSGTYPES] },
    expirationDate: { type: "string" },
    hookId: { type: "string" },
    transformationFunction: { type: "string", maxLength: MAX_TRANSFORMATION_FUNCTION_CHARS },
    waitForComplete: { type: "boolean" },
    permissions: PERMISSIONS_SCHEMA,
  },
} as const;

const validateShape = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);

/** Checks an inbound hook name (also the ghost's display name): 1–32 characters, no control characters. */
export function checkInboundName(name: string): string | null {
  const length = [...name].length;
  if (length === 0) return "the name is empty";
  if (length > MAX_INBOUND_NAME_LENGTH) return `the name is ${length} characters long (at most ${MAX_INBOUND_NAME_LENGTH})`;
  if (/\p{Cc}/u.test(name)) return "the name contains control characters";
  if (name.trim() !== name) return "the name starts or ends with a space";
  return null;
}

/** Checks an avatar given in state: an mxc:// URI (images from URLs are imported by the bot first). */
export function checkAvatar(avatar: string): string | null {
  return isMxcUri(avatar) ? null : `"${avatar.slice(0, 100)}" is not an mxc:// URI`;
}

/** Validates the content of an inbound hook state event whose state_key is `stateKey`. */
export function validateInboundHookContent(stateKey: string, content: unknown): Validation<InboundHookSettings> {
  const problems: string[] = [];
  const nameProblem = checkInboundName(stateKey);
  if (nameProblem) problems.push(`state key: ${nameProblem}`);
  const shapeOk = validateShape(content);
  if (!shapeOk) problems.push(...schemaProblems(validateShape.errors));
  const c = (typeof content === "object" && content !== null ? content : {}) as Record<string, unknown>;
  if (typeof c.name === "string" && c.name !== stateKey) problems.push(`name: "${c.name}" must equal the state key "${stateKey}"`);
  const avatarProblem = typeof c.avatar === "string" ? checkAvatar(c.avatar) : null;
  if (avatarProblem) problems.push(`avatar: ${avatarProblem}`);
  let expiresAt: number | null = null;
  if (typeof c.expirationDate === "string") {
    expiresAt = Date.parse(c.expirationDate);
    if (Number.isNaN(expiresAt)) problems.push(`expirationDate: "${c.expirationDate.slice(0, 40)}" is not a date`);
  }
  if (!shapeOk || problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      name: stateKey,
      avatar: typeof c.avatar === "string" ? c.avatar : null,
      msgtype: (c.msgtype as InboundMsgtype | undefined) ?? DEFAULT_INBOUND_MSGTYPE,
      expiresAt,
      permissions: permissionsOf(c.permissions),
      // Hookshot treats an empty string as none.
      ...(typeof c.transformationFunction === "string" && c.transformationFunction.trim() ? { transformationFunction: c.transformationFunction } : {}),
    },
  };
}

/** The state content the bot writes for a hook: Hookshot's `name` plus our fields when set. */
export function inboundHookContent(settings: { name: string; avatar: string | null; msgtype: InboundMsgtype }): Record<string, unknown> {
  const content: Record<string, unknown> = { name: settings.name };
  if (settings.avatar !== null) content.avatar = settings.avatar;
  if (settings.msgtype !== DEFAULT_INBOUND_MSGTYPE) content.msgtype = settings.msgtype;
  return content;
}

/** The state fields this bridge reads (Hookshot's and ours); others in the content are not its business. */
export const ACCEPTED_FIELDS = ["name", "avatar", "msgtype", "expirationDate", "permissions", "transformationFunction"] as const;

/** A hook's accepted settings as state content (only what differs from the defaults). */
export function acceptedContent(settings: InboundHookSettings): Record<string, unknown> {
  const content = inboundHookContent(settings);
  if (settings.expiresAt !== null) content.expirationDate = new Date(settings.expiresAt).toISOString();
  const permissions = permissionsField(settings.permissions);
  if (permissions) content.permissions = permissions;
  if (settings.transformationFunction) content.transformationFunction = settings.transformationFunction;
  return content;
}

/** Empty content removes a hook, and so does Hookshot's `{disabled: true}`. */
export function isInboundRemoval(content: unknown): boolean {
  if (content === null || content === undefined) return true;
  if (typeof content !== "object") return false;
  const keys = Object.keys(content);
  return keys.length === 0 || (content as { disabled?: unknown }).disabled === true;
}
