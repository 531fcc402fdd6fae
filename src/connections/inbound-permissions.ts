/**
 * What an inbound hook may do, as the Revolt webhooks RFC gives a webhook permissions: send
 * messages, send embeds (HTML, Discord embeds), masquerade (a per-message name and avatar) and
 * upload files. Kept in the hook's state (`permissions`), set by command; absent keys take the
 * defaults below.
 */
export const INBOUND_PERMISSIONS = ["send_messages", "send_embeds", "masquerade", "upload_files"] as const;
export type InboundPermission = (typeof INBOUND_PERMISSIONS)[number];

/** null for masquerade: the bridge's `inbound.allowIdentityOverride` decides. */
export type InboundPermissions = Readonly<Record<Exclude<InboundPermission, "masquerade">, boolean>> & { readonly masquerade: boolean | null };

export const DEFAULT_INBOUND_PERMISSIONS: InboundPermissions = { send_messages: true, send_embeds: true, masquerade: null, upload_files: true };

/** JSON-schema of the state field. */
export const PERMISSIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(INBOUND_PERMISSIONS.map((p) => [p, { type: "boolean" }])),
} as const;

/** The permissions of valid state content (`permissions` already checked against PERMISSIONS_SCHEMA). */
export function permissionsOf(field: unknown): InboundPermissions {
  const given = (typeof field === "object" && field !== null ? field : {}) as Partial<Record<InboundPermission, boolean>>;
  return {
    send_messages: given.send_messages ?? DEFAULT_INBOUND_PERMISSIONS.send_messages,
    send_embeds: given.send_embeds ?? DEFAULT_INBOUND_PERMISSIONS.send_embeds,
    masquerade: given.masquerade ?? DEFAULT_INBOUND_PERMISSIONS.masquerade,
    upload_files: given.upload_files ?? DEFAULT_INBOUND_PERMISSIONS.upload_files,
  };
}

/** May the hook do this? `allowIdentityOverride`: config inbound.allowIdentityOverride, the default for masquerade. */
export function hookMay(permissions: InboundPermissions, permission: InboundPermission, allowIdentityOverride: boolean): boolean {
  if (permission === "masquerade") return permissions.masquerade ?? allowIdentityOverride;
  return permissions[permission];
}

/** The state field for permissions that differ from the defaults (null: leave the field out). */
export function permissionsField(permissions: InboundPermissions): Record<string, boolean> | null {
  const field: Record<string, boolean> = {};
  for (const p of INBOUND_PERMISSIONS) {
    const value = permissions[p];
    if (value !== null && value !== DEFAULT_INBOUND_PERMISSIONS[p]) field[p] = value;
  }
  return Object.keys(field).length > 0 ? field : null;
}
