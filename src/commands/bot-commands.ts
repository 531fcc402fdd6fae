import { BOT_EVENT_TYPE, BOT_FORMATS, DEFAULT_BOT_FORMAT, validateBotContent } from "../connections/bot-state.js";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import { checkHookName, checkHookUrl } from "../connections/outbound-hook-state.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import { existingBot, writeHookState } from "./outbound-commands.js";
import type { CommandSpec } from "./spec.js";


/** Webhook bots (Zulip's outgoing webhook bots): a ghost user that answers mentions and DMs through a URL. */
export const botCommands: CommandSpec<CommandContext>[] = [
  {
    words: ["bot", "add"],
    args: ["name", "url"],
    options: { format: { values: BOT_FORMATS, description: `the request format, ${DEFAULT_BOT_FORMAT} by default` } },
    summary: "Add a webhook bot: a user named <name> joins; mentions of it, and DMs to it, go to <url>, and its answers are posted by it. Its token comes by direct message.",
    privileged: true,
    scope: "bot",
    async run(ctx, { name, url }, { format }) {
      const problem = checkHookName(name!) ?? checkHookUrl(url!);
      if (problem) throw new CommandError(`Cannot add bot "${name}": ${problem}.`);
      const refused = await ctx.outbound.checkDestination(url!);
      if (refused) throw new CommandError(`Cannot add bot "${name}": ${refused}.`);
      if (ctx.outbound.registry.get(ctx.roomId, name!, "bot")) {
        throw new CommandError(`A webhook bot "${name}" already exists here. Remove it first, or pick another name.`);
      }
      const content: Record<string, unknown> = { name, url, format: format ?? DEFAULT_BOT_FORMAT };
      const valid = validateBotContent(name!, content);
      if (!valid.ok) throw new CommandError(`Cannot add bot "${name}": ${valid.problems.join("; ")}.`);
      content.method = valid.value.method;
      // The token first, so the state event that comes back finds it and does not DM the bridge bot.
      const token = ctx.outbound.prepareToken(ctx.roomId, name!, ctx.sender, "bot");
      if (!(await writeHookState(ctx, name!, content, BOT_EVENT_TYPE))) {
        ctx.outbound.discardPreparedToken(ctx.roomId, name!, "bot");
        return;
      }
      await ctx.outbound.sendToken(ctx.sender, ctx.roomId, name!, token, "created", "bot");
      await ctx.reply(`Webhook bot "${name}" added: ${describeBot({ ...valid.value, format: content.format as ActiveOutboundHook["format"] })}. I sent you its token in a direct message.`);
    },
  },
  {
    words: ["bot", "list"],
    args: [],
    summary: "List this room's webhook bots.",
    privileged: true,
    scope: "bot",
    async run(ctx) {
      const bots = ctx.outbound.registry.ofKind(ctx.roomId, "bot");
      if (bots.length === 0) {
        await ctx.reply(`No webhook bots in this room. Add one with "${ctx.prefix} bot add <name> <url>".`);
        return;
      }
      await ctx.reply(["Webhook bots in this room:", ...bots.map((b) => `- ${b.name}: ${describeBot(b)}`)].join("\n"));
    },
  },
  {
    words: ["bot", "remove"],
    args: ["name"],
    summary: "Remove a webhook bot: its user leaves, and its pending deliveries are dropped.",
    privileged: true,
    scope: "bot",
    async run(ctx, { name }) {
      existingBot(ctx, name!);
      if (await writeHookState(ctx, name!, {}, BOT_EVENT_TYPE)) {
        await ctx.outbound.remove(ctx.roomId, name!, "bot");
        await ctx.reply(`Webhook bot "${name}" removed.`);
      }
    },
  },
  {
    words: ["bot", "token"],
    args: ["name"],
    summary: "Replace a webhook bot's token; the new one comes by direct message and the old one is no longer sent.",
    privileged: true,
    scope: "bot",
    async run(ctx, { name }) {
      const bot = existingBot(ctx, name!);
      const token = ctx.outbound.refreshToken(bot.id);
      await ctx.outbound.sendToken(ctx.sender, ctx.roomId, name!, token, "refreshed", "bot");
      await ctx.reply(`Webhook bot "${name}" has a new token; I sent it to you in a direct message. The old token is no longer sent.`);
    },
  },
];

/** One line saying what a bot answers and where its requests go. */
export function describeBot(bot: Pick<ActiveOutboundHook, "format" | "method" | "urls">): string {
  const dms = bot.format === "slack" ? "mentions (not direct messages: the slack format has none)" : "mentions and direct messages";
  return `${dms} go as ${bot.format ?? DEFAULT_BOT_FORMAT} by ${bot.method} to ${bot.urls.join(" and ")}`;
}
