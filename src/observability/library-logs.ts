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
    // The SDK logs every non-2xx answer as an error, including 404s our code expects and handles
    // (a state event that is not there); those are debug detail, not errors.
    const expected = module === "MatrixHttpClient" && text.includes("M_NOT_FOUND");
    lib[expected ? "debug" : level]({ module, ...(err ? { err } : {}) }, text.slice(0, 2000));
  };
  const logger: ILogger = { trace: write("debug"), debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
  // matrix-appservice-bridge logs through winston: keep its console quiet but for errors, as JSON.
  // Configuring it also hands matrix-bot-sdk's logging to winston, so ours is set after it.
  BridgeLibLogger.configure({ console: "error", json: true });
  LogService.setLogger(logger);
  LogService.setLevel(LogLevel.WARN);
}
