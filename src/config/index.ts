export { loadConfig, parseConfig, validateConfig } from "./load.js";
export { ConfigError, type ConfigIssue } from "./errors.js";
export type { BridgeConfig, LogLevel } from "./types.js";
export { parseCidr, type Cidr } from "./formats.js";
export { configWarnings } from "./warnings.js";
