/** A bot command as a plain value: its words, arguments, options, help and handler. */
export interface CommandSpec<Ctx> {
  words: readonly string[];
  /** Positional arguments; a name ending in "?" is optional (only at the end). */
  args: readonly string[];
  /**
   * `--name VALUE` options; an option with no values is a flag (`--name`, bound to "true"); one
   * with a `placeholder` takes any value (shown as `--name PLACEHOLDER`).
   */
  options?: Readonly<Record<string, { values: readonly string[]; description: string; placeholder?: string }>>;
  summary: string;
  /** What the command takes on the lines after its first (e.g. "PEM"); such a command's first line is parsed alone. */
  text?: string;
  /** Whether the sender must be allowed to configure hooks in the room. */
  privileged: boolean;
  /** Whose state event's power level a privileged command needs (default: outbound hooks'). */
  scope?: "outbound" | "inbound" | "bot";
  run(ctx: Ctx, args: Readonly<Record<string, string>>, options: Readonly<Record<string, string>>): Promise<void>;
}

export function usage(prefix: string, spec: CommandSpec<unknown>): string {
  const args = spec.args.map((a) => (a.endsWith("?") ? `[<${a.slice(0, -1)}>]` : `<${a}>`));
  const options = Object.entries(spec.options ?? {}).map(([name, o]) =>
    o.placeholder ? `[--${name} ${o.placeholder}]` : o.values.length === 0 ? `[--${name}]` : `[--${name} ${o.values.join("|")}]`,
  );
  const line = [prefix, ...spec.words, ...args, ...options].join(" ");
  return spec.text === undefined ? line : `${line} + ${spec.text} on the next lines`;
}
