import { JsSandbox } from "./sandbox.js";

let checker: Promise<JsSandbox> | null = null;

/**
 * A function's syntax error, or null: checked in the same engine that runs it, before a command
 * writes it to room state. Its own small engine, loaded on first use (commands are rare).
 */
export async function syntaxProblem(source: string): Promise<string | null> {
  checker ??= JsSandbox.load({ timeoutMs: 1000, memoryBytes: 8 * 1024 * 1024 }).catch((err: unknown) => {
    checker = null;
    throw err;
  });
  return (await checker).check(source)?.message ?? null;
}

/** The JavaScript in a command's text: as typed, or inside a ``` code block. */
export function functionSource(text: string): string {
  const fenced = /^\s*```[\w-]*[ \t]*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}
