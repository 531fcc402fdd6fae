import type { Logger } from "../observability/logger.js";
import { CommandError } from "./command-error.js";
import type { CommandContext, KeyRedaction } from "./context.js";
import { botCommands } from "./bot-commands.js";
import { inboundCommands } from "./inbound-commands.js";
import { inboundPermissionCommands } from "./inbound-permission-commands.js";
import { outboundCommands } from "./outbound-commands.js";
import { botDeliveryCommands, outboundDeliveryCommands } from "./outbound-delivery-commands.js";
import { outboundTlsCommands } from "./outbound-tls-commands.js";
import { transformCommands } from "./transform-commands.js";
import { isCommandText, parseCommandMessage } from "./parse.js";
import { keyRedactionNote, redactKeyMessage } from "./key-redaction.js";
import { usage, type CommandSpec } from "./spec.js";

const helpCommand: CommandSpec<CommandContext> = {
  words: ["help"],
  args: [],
  summary: "Show this help.",
  privileged: false,
  async run(ctx) {
    await ctx.reply(helpText(ctx.prefix));
  },
};

export const COMMANDS: readonly CommandSpec<CommandContext>[] = [helpCommand, ...outboundCommands, ...outboundDeliveryCommands, ...outboundTlsCommands, ...botCommands, ...botDeliveryCommands, ...inboundCommands, ...inboundPermissionCommands, ...transformCommands];

/** Help generated from the command table, so it cannot drift from what the bot accepts. */
export function helpText(prefix: string): string {
  return ["Webhook bridge commands:", ...COMMANDS.map((c) => `${usage(prefix, c)} — ${c.summary}`)].join("\n");
}

/**
 * Runs a `!hooks …` message: parse, check the sender's power level for privileged commands,
 * run, and answer every failure in the room in words (never a stack trace).
 */
export async function dispatchCommand(body: unknown, ctx: Omit<CommandContext, "text" | "keyRedaction">, log: Logger): Promise<boolean> {
  if (!isCommandText(body, ctx.prefix)) return false;
  // A private key posted in a room is a secret in its history: gone at once, whatever the command.
  const keyRedaction: KeyRedaction | null = await redactKeyMessage(body as string, ctx, log);
  try {
    const { text, ...parsed } = parseCommandMessage(body as string, COMMANDS, ctx.prefix);
    if (parsed.spec.privileged) {
      const verdict = parsed.spec.scope === "inbound" ? await ctx.inbound.permission(ctx.roomId, ctx.sender)
        : await ctx.outbound.permission(ctx.roomId, ctx.sender, parsed.spec.scope === "bot" ? "bot" : "hook");
      if (!verdict.allowed) {
        throw new CommandError(`Sorry ${ctx.sender}, managing hooks here needs power level ${verdict.needs} and you have ${verdict.has}.`);
      }
    }
    await parsed.spec.run({ ...ctx, text, keyRedaction }, parsed.args, parsed.options);
  } catch (err) {
    if (err instanceof CommandError) {
      await ctx.reply(err.humanError + keyRedactionNote(keyRedaction));
    } else {
      log.error({ err, roomId: ctx.roomId, sender: ctx.sender, command: commandName(body as string, ctx.prefix) }, "command failed");
      await ctx.reply("That command failed because of an internal error; the bridge's log has the details." + keyRedactionNote(keyRedaction));
    }
  }
  return true;
}

/** The command's first two words, for the log (the words may not parse). */
const commandName = (body: string, prefix: string): string => body.trim().slice(prefix.length).trim().split(/\s+/).slice(0, 2).join(" ");
