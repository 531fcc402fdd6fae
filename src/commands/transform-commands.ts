import { validateOutboundHookContent } from "../connections/outbound-hook-state.js";
import { MAX_TRANSFORMATION_FUNCTION_CHARS } from "../transform/limits.js";
import { functionSource, syntaxProblem } from "../transform/syntax-check.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import { existing as existingInbound, writeState as writeInboundState } from "./inbound-commands.js";
import { acceptedStateContent, existing as existingOutbound, writeHookState } from "./outbound-commands.js";
import type { CommandSpec } from "./spec.js";

/** The function a command gives, checked: not empty, not too long, compiles. */
async function checkedSource(name: string, text: string, prefix: string, direction: "inbound" | "outbound"): Promise<string> {
  const source = functionSource(text);
  if (!source) throw new CommandError(`Put the JavaScript on the lines after "${prefix} ${direction} transform ${name}" (a code block is fine), or add "clear" to remove the function.`);
  if (source.length > MAX_TRANSFORMATION_FUNCTION_CHARS) throw new CommandError(`The function is ${source.length} characters long (at most ${MAX_TRANSFORMATION_FUNCTION_CHARS}).`);
  const problem = await syntaxProblem(source);
  if (problem) throw new CommandError(`The function of "${name}" does not compile: ${problem}. Nothing was changed.`);
  return source;
}

const CONTRACT = {
  inbound: "`data` is the payload; set `result` as Hookshot's v2 contract says ({version: \"v2\", plain, html?, msgtype?} or {version: \"v2\", empty: true})",
  outbound: "`data` is the Matrix event; set `result` to the JSON body to send, or {empty: true} to send nothing",
} as const;

/**
 * "!hooks inbound|outbound transform <name>" with JavaScript on the next lines: sets the hook's
 * transformation function in its state (Hookshot's `transformationFunction`, our outbound
 * `transformation_function`); "… transform <name> clear" removes it.
 */
export const transformCommands: CommandSpec<CommandContext>[] = [
  {
    words: ["inbound", "transform"],
    args: ["name", "clear?"],
    text: "JavaScript",
    summary: `Give an inbound hook a transformation function (Hookshot's): ${CONTRACT.inbound}. "clear" removes it.`,
    privileged: true,
    scope: "inbound",
    async run(ctx, { name, clear }) {
      const hook = existingInbound(ctx, name!);
      // From the hook as accepted, never from state someone without the power may have written.
      const content = await ctx.inbound.contentWith(hook, {});
      if (clearing(clear)) {
        if (content.transformationFunction === undefined) throw new CommandError(`Inbound hook "${name}" has no transformation function.`);
        delete content.transformationFunction;
      } else content.transformationFunction = await checkedSource(name!, ctx.text, ctx.prefix, "inbound");
      if (await writeInboundState(ctx, name!, content)) await ctx.reply(done("Inbound", name!, clear));
    },
  },
  {
    words: ["outbound", "transform"],
    args: ["name", "clear?"],
    text: "JavaScript",
    summary: `Give an outbound hook (format hookshot, hookshot-multipart or json) a function that shapes the body sent: ${CONTRACT.outbound}. "clear" removes it.`,
    privileged: true,
    async run(ctx, { name, clear }) {
      const hook = existingOutbound(ctx, name!);
      const content: Record<string, unknown> = { ...(await acceptedStateContent(ctx, hook)) };
      if (clearing(clear)) {
        if (content.transformation_function === undefined) throw new CommandError(`Outbound hook "${name}" has no transformation function.`);
        delete content.transformation_function;
      } else content.transformation_function = await checkedSource(name!, ctx.text, ctx.prefix, "outbound");
      const valid = validateOutboundHookContent(name!, content);
      if (!valid.ok) throw new CommandError(`Cannot change "${name}": ${valid.problems.join("; ")}.`);
      if (await writeHookState(ctx, name!, content)) await ctx.reply(done("Outbound", name!, clear));
    },
  },
];

function clearing(word: string | undefined): boolean {
  if (word === undefined) return false;
  if (word.toLowerCase() !== "clear") throw new CommandError(`After the hook's name comes "clear" or nothing (the function goes on the next lines), not "${word}".`);
  return true;
}

const done = (kind: "Inbound" | "Outbound", name: string, clear: string | undefined) =>
  clear ? `${kind} hook "${name}" has no transformation function any more.` : `${kind} hook "${name}" has a new transformation function. If it fails, this room is told once.`;
