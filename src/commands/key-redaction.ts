import type { MatrixPort } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import type { KeyRedaction } from "./context.js";

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

export const holdsPrivateKey = (body: string): boolean => PRIVATE_KEY.test(body);

/**
 * Redacts a command message that holds a private key, at once (before the command runs, and
 * whether or not it is valid). Null when the message holds none.
 */
export async function redactKeyMessage(body: string, ctx: { matrix: MatrixPort; roomId: string; eventId: string }, log: Logger): Promise<KeyRedaction | null> {
  if (!holdsPrivateKey(body)) return null;
  try {
    await ctx.matrix.redactEvent(ctx.roomId, ctx.eventId, "It held a private key; removed by the webhook bridge");
    log.info({ roomId: ctx.roomId, eventId: ctx.eventId }, "redacted a command message that held a private key");
    return { redacted: true };
  } catch (err) {
    const forbidden = (err as { errcode?: string; statusCode?: number }).errcode === "M_FORBIDDEN" || (err as { statusCode?: number }).statusCode === 403;
    const reason = forbidden ? "I lack the power level to redact other people's messages here" : `the homeserver said: ${(err as Error).message ?? String(err)}`;
    log.warn({ roomId: ctx.roomId, eventId: ctx.eventId, reason }, "could not redact a command message that holds a private key");
    return { redacted: false, reason };
  }
}

/** What the sender is told about it, appended to the command's answer. */
export function keyRedactionNote(redaction: KeyRedaction | null): string {
  if (redaction === null) return "";
  if (redaction.redacted) return " I redacted your message: it held a private key.";
  return (
    ` Your message holds a private key and I could not redact it (${redaction.reason}): redact it yourself now. ` +
    "It stays in the history of everyone who saw it, so treat the key as exposed: make a new key and certificate and upload those. " +
    "Keys are better given in the bridge's config (delivery.tlsProfiles), which never passes through a room."
  );
}
