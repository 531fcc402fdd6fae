import { LogLevel, LogService, type ILogger } from "@vector-im/matrix-bot-sdk";
import { Logger as BridgeLibLogger } from "matrix-appservice-bridge";
import type { Logger } from "./logger.js";

/**
 * Sends the Matrix libraries' own logging into our pino logger, at warn and above, so every
 * line on stdout is JSON and no library prints a raw stack trace.
 */
export function routeLibraryLogs(log: Logger): void {
  const lib = log.child({ lib: "matrix-bot-sdk" });
  const write = (level: "debug" | "info" | "warn" | "error") => (module: string, ...messages: unknown[]) => {
    const err = messages.find((m): m is Error => m instanceof Error);
    const text = messages.filter((m) => !(m instanceof Error)).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");
    lib[level]({ module, ...(err ? { err } : {}) }, text.slice(0, 2000));
  };
  const logger: ILogger = { trace: write("debug"), debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
  LogService.setLogger(logger);
  LogService.setLevel(LogLevel.WARN);
  // matrix-appservice-bridge logs through winston; keep its console quiet but for errors, as JSON.
  BridgeLibLogger.configure({ console: "error", json: true });
}
