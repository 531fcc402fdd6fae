import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import { hookMay, INBOUND_PERMISSIONS } from "../../connections/inbound-permissions.js";

/**
 * What `GET /webhook/{id}` answers: the webhooks RFC's Webhook without its token — id (the hook's
 * store id, the same as Discord's webhook_id; never the URL secret), name, avatar, room
 * (the RFC's channel), the user it posts as, and its permissions as they apply now.
 */
export function hookView(hook: ActiveInboundHook, userId: string, allowIdentityOverride: boolean): Record<string, unknown> {
  return {
    ok: true,
    id: hook.id,
    name: hook.name,
    avatar: hook.avatar,
    room_id: hook.roomId,
    user_id: userId,
    msgtype: hook.msgtype,
    expires_at: hook.expiresAt === null ? null : new Date(hook.expiresAt).toISOString(),
    transformation_function: Boolean(hook.transformationFunction),
    permissions: Object.fromEntries(INBOUND_PERMISSIONS.map((p) => [p, hookMay(hook.permissions, p, allowIdentityOverride)])),
  };
}
