import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON logs on stdout. Secrets never reach a log call, and these paths are redacted as a second
 * line of defence should one slip into a logged object.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { name: "matrix-webhook-bridge" },
      redact: {
        paths: ["token", "*.token", "accessToken", "*.accessToken", "headers.authorization", "headers[\"x-matrix-hookshot-token\"]"],
        censor: "[redacted]",
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
