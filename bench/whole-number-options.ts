// Whole-number options of a benchmark: --name=value on the command line, else BENCH_NAME in the
// environment, else the default; anything else than a whole number ≥ 1 is refused, naming it.
import { parseArgs } from "node:util";

export function wholeNumberOptions<K extends string>(defaults: Readonly<Record<K, number>>): (name: K) => number {
  const { values: cli } = parseArgs({ options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: "string" as const }])), strict: true });
  return (name: K): number => {
    const raw = (cli[name] as string | undefined) ?? process.env[`BENCH_${name.toUpperCase()}`] ?? String(defaults[name]);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got ${raw})`);
    return n;
  };
}
