import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import { badRequest } from "../errors.js";

/**
 * Discord's webhook object as "Get Webhook with Token" answers it: the hook's id (never the URL
 * secret), name and room. `avatar` is Discord's image hash, which a Matrix avatar has none of: null.
 */
export function discordWebhookObject(hook: Pick<ActiveInboundHook, "id" | "name" | "roomId">): Record<string, unknown> {
  return { id: hook.id, type: 1, name: hook.name, avatar: null, channel_id: hook.roomId, guild_id: null, application_id: null };
}

/**
 * A "Modify Webhook with Token" body (`name`, `avatar` as a data URI, or null to clear it) as the
 * hook management's edit body.
 */
export function managementEditOf(body: Buffer): Buffer {
  let value: unknown;
  try {
    value = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    throw badRequest("the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest("the body must be a JSON object");
  // channel_id cannot be changed with a token (Discord ignores it there too).
  const { avatar, channel_id: _channel, ...rest } = value as Record<string, unknown>;
  const edit: Record<string, unknown> = { ...rest };
  if (avatar === null) edit.remove = ["avatar"];
  else if (avatar !== undefined) edit.avatar = avatar;
  return Buffer.from(JSON.stringify(edit));
}
