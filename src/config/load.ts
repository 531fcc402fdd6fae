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
export function loadConfig(path: string): BridgeConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const hint = (error as NodeJS.ErrnoException).code === "ENOENT" ? " (start from config.sample.yml)" : "";
    throw new ConfigError([{ path: "", message: `cannot read config file ${file}: ${describeFsError(error)}${hint}` }], path);
  }
  return parseConfig(text, path, dirname(file));
}

/**
 * Parses YAML text and validates it. `source` names it in errors; `baseDir` (default: none, so
 * relative paths stay as written) is where relative store paths resolve. Throws ConfigError.
 */
export function parseConfig(yamlText: string, source?: string, baseDir?: string): BridgeConfig {
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
  return validateConfig(raw, source, baseDir);
}
