import { INBOUND_PERMISSIONS, permissionsField, type InboundPermission, type InboundPermissions } from "../connections/inbound-permissions.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import { existing, writeState } from "./inbound-commands.js";
import type { CommandSpec } from "./spec.js";

/** Each permission's command option (`--send-messages on|off`) and what it allows, in the order shown. */
const OPTION_OF: Readonly<Record<InboundPermission, { option: string; allows: string }>> = {
  send_messages: { option: "send-messages", allows: "post messages at all" },
  send_embeds: { option: "send-embeds", allows: "formatted messages (HTML, Discord embeds); without it a message is posted as its plain text" },
  masquerade: { option: "masquerade", allows: "a per-message name and avatar (username/avatar_url)" },
  upload_files: { option: "upload-files", allows: "files (the Discord route's files[n])" },
};

const ON_OFF = ["on", "off"] as const;

/** One permission's effective value, as the command shows it. */
function shown(permissions: InboundPermissions, p: InboundPermission, allowIdentityOverride: boolean): string {
  const value = permissions[p];
  if (value === null) return `${allowIdentityOverride ? "on" : "off"} (default: inbound.allowIdentityOverride)`;
  return value ? "on" : "off";
}

/** The permissions lines of a hook, for the command's answer. */
export function describePermissions(permissions: InboundPermissions, allowIdentityOverride: boolean): string[] {
  return INBOUND_PERMISSIONS.map((p) => `- ${p}: ${shown(permissions, p, allowIdentityOverride)} — ${OPTION_OF[p].allows}`);
}

/**
 * "!hooks inbound permissions <name> [--send-messages on|off] …": shows or sets what the hook may
 * do (the webhooks RFC's permissions), kept in its state's `permissions` (only what differs from
 * the defaults).
 */
export const inboundPermissionCommands: CommandSpec<CommandContext>[] = [
  {
    words: ["inbound", "permissions"],
    args: ["name"],
    options: Object.fromEntries(INBOUND_PERMISSIONS.map((p) => [
      OPTION_OF[p].option,
      { values: p === "masquerade" ? [...ON_OFF, "default"] : ON_OFF, description: OPTION_OF[p].allows },
    ])),
    summary: "Show an inbound hook's permissions, or set them: --send-messages, --send-embeds, --masquerade (or default: the bridge's config decides), --upload-files, each on or off.",
    privileged: true,
    scope: "inbound",
    async run(ctx, { name }, options) {
      const hook = existing(ctx, name!);
      const allowIdentityOverride = ctx.inbound.allowIdentityOverride;
      const given = INBOUND_PERMISSIONS.filter((p) => Object.hasOwn(options, OPTION_OF[p].option));
      if (given.length === 0) {
        await ctx.reply([`Permissions of inbound hook "${name}":`, ...describePermissions(hook.permissions, allowIdentityOverride)].join("\n"));
        return;
      }
      const next: Record<InboundPermission, boolean | null> = { ...hook.permissions };
      for (const p of given) {
        const word = options[OPTION_OF[p].option]!;
        next[p] = word === "default" ? null : word === "on";
      }
      if (next.send_messages === null || next.send_embeds === null || next.upload_files === null) throw new CommandError("Only --masquerade can be set to default.");
      const permissions = next as InboundPermissions;
      const field = permissionsField(permissions);
      if (await writeState(ctx, name!, await ctx.inbound.contentWith(hook, { permissions: field ?? undefined }))) {
        await ctx.reply([`Permissions of inbound hook "${name}" are now:`, ...describePermissions(permissions, allowIdentityOverride)].join("\n"));
      }
    },
  },
];
