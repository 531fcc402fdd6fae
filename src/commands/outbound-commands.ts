import { describeHook } from "../connections/describe-hook.js";
import { checkHookName, checkHookUrl, OUTBOUND_HOOK_EVENT_TYPE, OUTBOUND_METHODS, validateOutboundHookContent } from "../connections/outbound-hook-state.js";
import { mayConfigureHooks } from "../connections/power-levels.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import { SETTING_NAMES, settingOptions, settingsFromOptions, withSetting } from "./outbound-settings.js";
import type { CommandSpec } from "./spec.js";

export const existing = (ctx: CommandContext, name: string) => {
  const hook = ctx.outbound.registry.get(ctx.roomId, name);
  if (!hook) throw new CommandError(`There is no outbound hook "${name}" in this room. "${ctx.prefix} outbound list" shows them.`);
  return hook;
};

export const existingBot = (ctx: CommandContext, name: string) => {
  const bot = ctx.outbound.registry.get(ctx.roomId, name, "bot");
  if (!bot) throw new CommandError(`There is no webhook bot "${name}" in this room. "${ctx.prefix} bot list" shows them.`);
  return bot;
};

/** The bot writes the state itself when it may; otherwise it says exactly what the admin must do. */
/**
 * The hook's state content as the room has it, to change one setting of: refused when the room's
 * current state event is not the one this bridge accepted (someone without the power wrote over
 * it; the bot must not make that official by writing it back).
 */
export async function acceptedStateContent(ctx: CommandContext, hook: { name: string; stateEventId?: string }, eventType = OUTBOUND_HOOK_EVENT_TYPE): Promise<Record<string, unknown>> {
  const event = (await ctx.matrix.roomState(ctx.roomId)).find((e) => e.type === eventType && e.state_key === hook.name);
  if (!event) return {};
  const replaced = hook.stateEventId !== undefined && event.event_id !== undefined && event.event_id !== hook.stateEventId && event.sender !== ctx.matrix.botUserId;
  if (replaced) {
    throw new CommandError(
      `The room's state for hook "${hook.name}" was last written by ${event.sender}, and I did not accept that change (too little power), so I will not build on it. ` +
        `Remove the hook and add it again, or write its state yourself.`,
    );
  }
  return event.content;
}

export async function writeHookState(ctx: CommandContext, name: string, content: Record<string, unknown>, eventType = OUTBOUND_HOOK_EVENT_TYPE): Promise<boolean> {
  const authority = await ctx.matrix.roomAuthority(ctx.roomId);
  const bot = mayConfigureHooks(authority, ctx.matrix.botUserId, eventType, null);
  if (bot.allowed) {
    await ctx.matrix.setState(ctx.roomId, eventType, name, content);
    return true;
  }
  await ctx.reply(
    `I cannot write room state here: sending ${eventType} needs power level ${bot.needs} and I have ${bot.has}. ` +
      `Either raise my power level to ${bot.needs} and run the command again, or send this state event yourself ` +
      `(e.g. with /devtools): type ${eventType}, state key "${name}", content ${JSON.stringify(content)}.`,
  );
  return false;
}

export const outboundCommands: CommandSpec<CommandContext>[] = [
  {
    words: ["outbound", "add"],
    args: ["name", "url"],
    options: { method: { values: OUTBOUND_METHODS, description: "HTTP method, PUT by default (POST for chat formats)" }, ...settingOptions() },
    summary: "Send this room's events to <url>; the hook's token comes to you in a direct message.",
    privileged: true,
    async run(ctx, { name, url }, options) {
      const { method } = options;
      const problem = checkHookName(name!) ?? checkHookUrl(url!);
      if (problem) throw new CommandError(`Cannot add "${name}": ${problem}.`);
      const refused = await ctx.outbound.checkDestination(url!);
      if (refused) throw new CommandError(`Cannot add "${name}": ${refused}.`);
      if (ctx.outbound.registry.get(ctx.roomId, name!)) {
        throw new CommandError(`An outbound hook "${name}" already exists here. Remove it first, or pick another name.`);
      }
      const content: Record<string, unknown> = { name, url, ...(method ? { method } : {}), ...settingsFromOptions(options) };
      const valid = validateOutboundHookContent(name!, content);
      if (!valid.ok) throw new CommandError(`Cannot add "${name}": ${valid.problems.join("; ")}.`);
      const profileProblem = ctx.outbound.tls.profileProblem(valid.value.tlsProfile);
      if (profileProblem) throw new CommandError(`Cannot add "${name}": ${profileProblem}.`);
      for (const extra of valid.value.urls.slice(1)) {
        const refusedExtra = await ctx.outbound.checkDestination(extra);
        if (refusedExtra) throw new CommandError(`Cannot add "${name}": ${refusedExtra}.`);
      }
      content.method = valid.value.method;
      // Create the token first, so the state event that comes back finds it and does not DM the bot.
      const created = ctx.outbound.prepareToken(ctx.roomId, name!, ctx.sender);
      if (!(await writeHookState(ctx, name!, content))) {
        ctx.outbound.discardPreparedToken(ctx.roomId, name!);
        return;
      }
      await ctx.outbound.sendToken(ctx.sender, ctx.roomId, name!, created, "created");
      await ctx.reply(`Outbound hook "${name}" added: ${describeHook(valid.value)}.${await ctx.outbound.beforeHookNote(ctx.roomId, valid.value)} I sent you its token in a direct message.`);
    },
  },
  {
    words: ["outbound", "list"],
    args: [],
    summary: "List this room's outbound hooks.",
    privileged: true,
    async run(ctx) {
      const hooks = ctx.outbound.registry.ofKind(ctx.roomId, "hook");
      if (hooks.length === 0) {
        await ctx.reply(`No outbound hooks in this room. Add one with "${ctx.prefix} outbound add <name> <url>".`);
        return;
      }
      const tls = (h: (typeof hooks)[number]) => (h.tlsProfile !== null || ctx.outbound.tls.source(h).kind !== "none" ? ` ${ctx.outbound.tls.describe(h)}` : "");
      await ctx.reply(["Outbound hooks in this room:", ...hooks.map((h) => `- ${h.name}: ${h.method} ${h.urls.join(", ")} (${describeHook(h)})${tls(h)}`)].join("\n"));
    },
  },
  {
    words: ["outbound", "set"],
    args: ["name", "setting", "value?"],
    summary: `Change one setting of a hook (${SETTING_NAMES}); lists are comma-separated, "none" clears.`,
    privileged: true,
    async run(ctx, { name, setting, value }) {
      const hook = existing(ctx, name!);
      const content = withSetting(await acceptedStateContent(ctx, hook), setting!, value);
      const valid = validateOutboundHookContent(name!, content);
      if (!valid.ok) throw new CommandError(`Cannot change "${name}": ${valid.problems.join("; ")}.`);
      const profileProblem = ctx.outbound.tls.profileProblem(valid.value.tlsProfile);
      if (profileProblem) throw new CommandError(`Cannot change "${name}": ${profileProblem}.`);
      for (const url of valid.value.urls) {
        const refused = await ctx.outbound.checkDestination(url);
        if (refused) throw new CommandError(`Cannot change "${name}": ${refused}.`);
      }
      if (await writeHookState(ctx, name!, content)) await ctx.reply(`Outbound hook "${name}" changed: ${describeHook(valid.value)}.${await ctx.outbound.beforeHookNote(ctx.roomId, valid.value)}`);
    },
  },
  {
    words: ["outbound", "remove"],
    args: ["name"],
    summary: "Remove an outbound hook; pending deliveries are dropped.",
    privileged: true,
    async run(ctx, { name }) {
      existing(ctx, name!);
      if (await writeHookState(ctx, name!, {})) {
        await ctx.outbound.remove(ctx.roomId, name!);
        await ctx.reply(`Outbound hook "${name}" removed.`);
      }
    },
  },
  {
    words: ["outbound", "token"],
    args: ["name"],
    summary: "Replace a hook's token; the new one comes by direct message and the old one is no longer sent.",
    privileged: true,
    async run(ctx, { name }) {
      const hook = existing(ctx, name!);
      const token = ctx.outbound.refreshToken(hook.id);
      await ctx.outbound.sendToken(ctx.sender, ctx.roomId, name!, token, "refreshed");
      await ctx.reply(`Outbound hook "${name}" has a new token; I sent it to you in a direct message. The old token is no longer sent.`);
    },
  },
];

