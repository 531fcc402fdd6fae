/**
 * The V8 heap flags the bridge is meant to run with: `npm start`, the Dockerfile, the systemd units
 * in the docs and the test and benchmark harness all pass them. Node's defaults size the heap for
 * the machine, not for the bridge: on a large host V8 lets the old generation grow to about four
 * times what is live before collecting, and keeps a young generation of 16 MB or more per semi-space.
 * With 10,000 failing hooks that is the difference between ~470 MB and < 300 MB resident (README,
 * Performance). The old-space limit stays far above what the bridge keeps live (~100 MB there).
 */
export const SHIPPED_NODE_FLAGS: readonly string[] = ["--max-old-space-size=512", "--max-semi-space-size=8"];

/** The shipped flags whose option is given neither on Node's command line nor in NODE_OPTIONS. */
export function missingNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].map(optionName);
  return SHIPPED_NODE_FLAGS.filter((flag) => !given.includes(optionName(flag)));
}

/** `--max-old-space-size=512` and `--max_old_space_size 512` name the same option. */
function optionName(arg: string): string {
  return arg.split("=")[0]!.replace(/_/g, "-");
}
