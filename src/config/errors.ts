/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Dotted key path such as `delivery.retrySchedule[2]`; "" for the document as a whole. */
  path: string;
  /** What is wrong and what was expected, without the path. */
  message: string;
  /** 1-based position in the file, when known (YAML syntax errors). */
  line?: number;
  column?: number;
}

/** The configuration cannot be used. `issues` lists every problem found, in document order. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    readonly issues: readonly ConfigIssue[],
    /** The file (or other label) the configuration came from. */
    readonly source?: string,
  ) {
    super(formatConfigError(issues, source));
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

function formatConfigError(issues: readonly ConfigIssue[], source: string | undefined): string {
  const where = source === undefined ? "" : ` in ${source}`;
  const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
  return [`Invalid configuration${where} (${count}):`, ...issues.map((issue) => `  - ${formatIssue(issue)}`)].join("\n");
}
