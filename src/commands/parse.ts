import { CommandError } from "./command-error.js";
import { usage, type CommandSpec } from "./spec.js";

/** Splits a command line into words; "double" or 'single' quotes keep spaces inside a word. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let current = "";
  let quote: string | null = null;
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new CommandError(`Unclosed ${quote} quote in the command.`);
  if (inWord) words.push(current);
  return words;
}

/** The words after the prefix if `body` is a command for us, else null. */
export function commandWords(body: unknown, prefix: string): string[] | null {
  if (!isCommandText(body, prefix)) return null;
  return tokenize((body as string).trim().slice(prefix.length));
}

/** Whether a message body is addressed to the bot (its words may still be malformed: an unclosed quote). Never throws. */
export function isCommandText(body: unknown, prefix: string): boolean {
  if (typeof body !== "string") return false;
  const trimmed = body.trim();
  return trimmed === prefix || trimmed.startsWith(prefix + " ");
}

/**
 * A command message for a command that takes text on its next lines (a PEM block): the words of
 * its first line, and the rest. Null when `body` is not a command.
 */
export function commandLines(body: unknown, prefix: string): { words: string[]; text: string } | null {
  if (typeof body !== "string") return null;
  const trimmed = body.trim();
  const newline = trimmed.indexOf("\n");
  const first = (newline === -1 ? trimmed : trimmed.slice(0, newline)).trim();
  if (first !== prefix && !first.startsWith(prefix + " ")) return null;
  return { words: tokenize(first.slice(prefix.length)), text: newline === -1 ? "" : trimmed.slice(newline + 1) };
}

/**
 * Parses a command message: a command that takes text gets its first line parsed and the rest as
 * text (which may hold anything, quotes included); every other command is parsed whole, as before.
 */
export function parseCommandMessage<Ctx>(body: string, specs: readonly CommandSpec<Ctx>[], prefix: string): ParsedCommand<Ctx> & { text: string } {
  const lines = commandLines(body, prefix);
  if (lines) {
    const textSpec = specs.find((s) => s.text !== undefined && s.words.every((w, i) => lines.words[i]?.toLowerCase() === w));
    if (textSpec) return { ...parseCommand(lines.words, [textSpec], prefix), text: lines.text };
  }
  const words = commandWords(body, prefix) ?? [];
  return { ...parseCommand(words.length === 0 ? ["help"] : words, specs, prefix), text: "" };
}

export interface ParsedCommand<Ctx> {
  spec: CommandSpec<Ctx>;
  /** Bound by name, without the "?" of optional ones; absent optional arguments are missing. */
  args: Record<string, string>;
  options: Record<string, string>;
}

/** Finds the command the words name and binds its arguments; errors explain the right usage. */
export function parseCommand<Ctx>(words: readonly string[], specs: readonly CommandSpec<Ctx>[], prefix: string): ParsedCommand<Ctx> {
  const candidates = specs
    .filter((s) => s.words.every((w, i) => words[i]?.toLowerCase() === w))
    .sort((a, b) => b.words.length - a.words.length);
  const spec = candidates[0];
  if (!spec) {
    const shown = words.slice(0, 2).join(" ");
    throw new CommandError(`Unknown command "${shown}". Send "${prefix} help" for the list.`);
  }
  const rest = words.slice(spec.words.length);
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (!word.startsWith("--")) {
      positional.push(word);
      continue;
    }
    const [rawName, inline] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    // The option name is the sender's word: only the spec's own options count, never inherited names.
    const option = spec.options && Object.hasOwn(spec.options, rawName) ? spec.options[rawName] : undefined;
    if (!option) throw new CommandError(`Unknown option --${rawName}. Usage: ${usage(prefix, spec)}`);
    if (option.placeholder) {
      const value = inline ?? rest[++i];
      if (value === undefined || value.length === 0) throw new CommandError(`--${rawName} needs a value (${option.placeholder}).`);
      options[rawName] = value;
      continue;
    }
    if (option.values.length === 0) {
      if (inline !== undefined) throw new CommandError(`--${rawName} takes no value.`);
      options[rawName] = "true";
      continue;
    }
    const value = inline ?? rest[++i];
    if (value === undefined) throw new CommandError(`--${rawName} needs a value (${option.values.join(" or ")}).`);
    const match = option.values.find((v) => v.toLowerCase() === value.toLowerCase());
    if (!match) throw new CommandError(`--${rawName} must be ${option.values.join(" or ")}, not "${value}".`);
    options[rawName] = match;
  }
  const required = spec.args.filter((a) => !a.endsWith("?")).length;
  if (positional.length < required || positional.length > spec.args.length) {
    throw new CommandError(`Usage: ${usage(prefix, spec)}`);
  }
  const args: Record<string, string> = {};
  spec.args.forEach((name, i) => {
    if (positional[i] !== undefined) args[name.replace(/\?$/, "")] = positional[i]!;
  });
  return { spec, args, options };
}
