import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import { checkAvatar, checkInboundName, inboundHookContent, INBOUND_HOOK_EVENT_TYPE, INBOUND_MSGTYPES, type InboundMsgtype } from "../connections/inbound-hook-state.js";
import { permissionsField } from "../connections/inbound-permissions.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import type { PermissionVerdict } from "../connections/power-levels.js";
import type { CommandSpec } from "./spec.js";

export const existing = (ctx: CommandContext, name: string): ActiveInboundHook => {
  const hook = ctx.inbound.registry.get(ctx.roomId, name);
  if (!hook) throw new CommandError(`There is no inbound hook "${name}" in this room. "${ctx.prefix} inbound list" shows them.`);
  return hook;
};

const nameProblem = (name: string) => {
  const problem = checkInboundName(name);
  if (problem) throw new CommandError(`"${name}" cannot be an inbound hook name: ${problem}.`);
};

/**
 * Writes the hook's state as the bot and applies it at once (so the URL works before the event
 * comes back from the homeserver). When the bot lacks the power, says what the admin must do.
 */
export async function writeState(ctx: CommandContext, name: string, content: Record<string, unknown>): Promise<boolean> {
  const bot = await ctx.inbound.writeAsBot(ctx.roomId, name, content);
  if (!bot.allowed) await replyNoPower(ctx, bot);
  return bot.allowed;
}

const replyNoPower = (ctx: CommandContext, bot: PermissionVerdict) =>
  ctx.reply(
    `I cannot write room state here: sending ${INBOUND_HOOK_EVENT_TYPE} needs power level ${bot.needs} and I have ${bot.has}. ` +
      `Raise my power level to ${bot.needs} and run the command again.`,
  );

const privileged = { privileged: true, scope: "inbound" } as const;

/** Inbound hooks: a secret URL that posts into the room as the hook's own user. */
export const inboundCommands: CommandSpec<CommandContext>[] = [
  {
    words: ["inbound", "add"],
    args: ["name"],
    options: { msgtype: { values: INBOUND_MSGTYPES, description: "message type of posts, m.notice by default" } },
    summary: "Create a webhook URL that posts into this room as <name> (1–32 characters); the URL comes to you in a direct message.",
    ...privileged,
    async run(ctx, { name }, { msgtype }) {
      nameProblem(name!);
      if (ctx.inbound.registry.get(ctx.roomId, name!)) throw new CommandError(`An inbound hook "${name}" already exists here. Remove or rename it first.`);
      const secret = await ctx.inbound.prepare(ctx.roomId, name!, ctx.sender);
      const content = inboundHookContent({ name: name!, avatar: null, msgtype: (msgtype as InboundMsgtype | undefined) ?? "m.notice" });
      if (!(await writeState(ctx, name!, content))) {
        await ctx.inbound.discardPrepared(ctx.roomId, name!);
        return;
      }
      const hook = existing(ctx, name!);
      await ctx.inbound.sendUrl(ctx.sender, ctx.roomId, name!, secret, "created");
      await ctx.reply(`Inbound hook "${name}" added: it posts as ${ctx.inbound.ghostUserId(hook.id)}. I sent you its URL in a direct message.`);
    },
  },
  {
    words: ["inbound", "list"],
    args: [],
    summary: "List this room's inbound hooks (their URLs are never shown again).",
    ...privileged,
    async run(ctx) {
      const hooks = ctx.inbound.registry.forRoom(ctx.roomId);
      if (hooks.length === 0) {
        await ctx.reply(`No inbound hooks in this room. Add one with "${ctx.prefix} inbound add <name>".`);
        return;
      }
      const signed = new Set((await Promise.all(hooks.map((h) => ctx.inbound.stored(h.id)))).filter((s) => s?.hasGithubSecret).map((s) => s!.id));
      const line = (h: ActiveInboundHook) =>
        `- ${h.name}: posts ${h.msgtype} as ${ctx.inbound.ghostUserId(h.id)}, avatar ${h.avatar ?? "none"}, ` +
        `GitHub signatures ${signed.has(h.id) ? "required" : "not required"}` +
        (h.expiresAt !== null ? `, expires ${new Date(h.expiresAt).toISOString()}` : "") +
        (permissionsField(h.permissions) ? `, permissions ${Object.entries(permissionsField(h.permissions)!).map(([p, on]) => `${p} ${on ? "on" : "off"}`).join(", ")}` : "");
      await ctx.reply(["Inbound hooks in this room:", ...hooks.map(line)].join("\n"));
    },
  },
  {
    words: ["inbound", "remove"],
    args: ["name"],
    summary: "Remove an inbound hook: its URL answers 404 from now on.",
    ...privileged,
    async run(ctx, { name }) {
      existing(ctx, name!);
      if (await writeState(ctx, name!, {})) await ctx.reply(`Inbound hook "${name}" removed; its URL no longer works.`);
    },
  },
  {
    words: ["inbound", "rename"],
    args: ["name", "new_name"],
    summary: "Rename an inbound hook; its URL stays, and its next message shows the new name.",
    ...privileged,
    async run(ctx, { name, new_name: newName }) {
      const hook = existing(ctx, name!);
      nameProblem(newName!);
      if (newName === name) throw new CommandError(`The hook is already called "${name}".`);
      // Read before the rename: the state is still under the old name, with every field it has.
      const content = await ctx.inbound.contentWith(hook, { name: newName! });
      const bot = await ctx.inbound.renameAsBot(hook, newName!, content);
      if (bot === null) throw new CommandError(`An inbound hook "${newName}" already exists here.`);
      if (!bot.allowed) {
        await replyNoPower(ctx, bot);
        return;
      }
      await ctx.reply(`Inbound hook "${name}" is now "${newName}"; its URL is unchanged.`);
    },
  },
  {
    words: ["inbound", "avatar"],
    args: ["name", "image?"],
    options: { remove: { values: [], description: "remove the avatar" } },
    summary: "Set the avatar an inbound hook posts with: an mxc:// URI or an http(s) image URL (downloaded once); --remove clears it.",
    ...privileged,
    async run(ctx, { name, image }, { remove }) {
      const hook = existing(ctx, name!);
      if ((image === undefined) === (remove === undefined)) throw new CommandError(`Give an image (mxc:// or http(s) URL) or --remove.`);
      let avatar: string | null = null;
      if (image !== undefined && image.startsWith("mxc://")) {
        const problem = checkAvatar(image);
        if (problem) throw new CommandError(`Cannot use that avatar: ${problem}.`);
        avatar = image;
      } else if (image !== undefined) {
        avatar = await ctx.inbound.importAvatar(image).catch((err: Error) => {
          throw new CommandError(`Cannot use that avatar: ${err.message}.`);
        });
      }
      if (await writeState(ctx, name!, await ctx.inbound.contentWith(hook, { avatar: avatar ?? undefined }))) {
        await ctx.reply(avatar ? `Inbound hook "${name}" now posts with avatar ${avatar}.` : `Inbound hook "${name}" has no avatar now.`);
      }
    },
  },
  {
    words: ["inbound", "rotate"],
    args: ["name"],
    summary: "Give an inbound hook a new secret URL (sent to you in a direct message); the old URL stops working at once.",
    ...privileged,
    async run(ctx, { name }) {
      const hook = existing(ctx, name!);
      const secret = await ctx.inbound.rotate(hook.id);
      await ctx.inbound.sendUrl(ctx.sender, ctx.roomId, name!, secret, "rotated");
      await ctx.reply(`Inbound hook "${name}" has a new URL; I sent it to you in a direct message. The old URL no longer works.`);
    },
  },
  {
    words: ["inbound", "github-secret"],
    args: ["name"],
    options: { remove: { values: [], description: "stop requiring signatures" } },
    summary: "Require GitHub's X-Hub-Signature-256 on the hook's /github URL, with a new secret sent to you in a direct message; --remove stops requiring it.",
    ...privileged,
    async run(ctx, { name }, { remove }) {
      const hook = existing(ctx, name!);
      const secret = await ctx.inbound.setGithubSecret(hook.id, remove === undefined);
      if (secret === null) {
        await ctx.reply(`GitHub requests to "${name}" are no longer signature-checked.`);
        return;
      }
      await ctx.inbound.sendGithubSecret(ctx.sender, ctx.roomId, name!, secret);
      await ctx.reply(`GitHub requests to "${name}" must now be signed; I sent you the secret in a direct message.`);
    },
  },
];
