import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as yaml from "js-yaml";
import { ConfigError } from "./errors.js";
import { describeFsError } from "./key.js";
import type { BridgeConfig } from "./types.js";
import { validateConfig } from "./validate.js";

export { validateConfig };

/**
 * Reads the YAML config file and validates it. Relative store paths resolve against the file's
 * directory. Throws ConfigError when the file is missing, unreadable, malformed or invalid.
 */
export function loadConfig(path: string, overrides: ConfigOverrides = {}): BridgeConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const hint = (error as NodeJS.ErrnoException).code === "ENOENT" ? " (start from config.sample.yml)" : "";
    throw new ConfigError([{ path: "", message: `cannot read config file ${file}: ${describeFsError(error)}${hint}` }], path);
  }
  return parseConfig(text, path, dirname(file), overrides);
}

/** What the command line sets over the file (validated with it, as if written there). */
export interface ConfigOverrides {
  /** --role */
  role?: string;
}

/**
 * Parses YAML text and validates it. `source` names it in errors; `baseDir` (default: none, so
 * relative paths stay as written) is where relative store paths resolve. Throws ConfigError.
 */
export function parseConfig(yamlText: string, source?: string, baseDir?: string, overrides: ConfigOverrides = {}): BridgeConfig {
  let raw: unknown;
  try {
    // The core schema: YAML 1.2 scalars only (no timestamps or binary turning into objects).
    raw = yaml.load(yamlText, { schema: yaml.CORE_SCHEMA, ...(source === undefined ? {} : { filename: source }) });
  } catch (error) {
    if (!(error instanceof yaml.YAMLException)) throw error;
    const line = error.mark.line + 1;
    const column = error.mark.column + 1;
    // The quoted lines around the error, with the store key (and a URL that may hold a password) hidden should they be among them.
    const quoted = error.mark.snippet?.replace(/(encryptionKey\s*:\s*|url\s*:\s*postgres).*$/gm, "$1[hidden]");
    const snippet = quoted ? `\n${quoted.replace(/^/gm, "      ")}` : "";
    throw new ConfigError([{ path: "", message: `YAML syntax error at line ${line}, column ${column}: ${error.reason}${snippet}`, line, column }], source);
  }
  if (overrides.role !== undefined && raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    const data = raw as Record<string, unknown>;
    const bridge = data.bridge;
    data.bridge = { ...(bridge !== null && typeof bridge === "object" && !Array.isArray(bridge) ? bridge : {}), role: overrides.role };
  }
  return validateConfig(raw, source, baseDir);
}
