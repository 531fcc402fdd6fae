import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import type { MatrixPort } from "../matrix/port.js";

/** What a command handler gets: who asked where, how to answer, and the services it may use. */
export interface CommandContext {
  roomId: string;
  sender: string;
  /** The command message's event id. */
  eventId: string;
  /** What the message holds after its first line, for commands that take text (see CommandSpec.text). */
  text: string;
  /** When the message held a private key: whether the bot could redact it (done before the command ran). */
  keyRedaction: KeyRedaction | null;
  prefix: string;
  reply(text: string, html?: string): Promise<void>;
  matrix: MatrixPort;
  outbound: OutboundHooks;
  inbound: InboundHooks;
}

/** The outcome of redacting a command message that held a private key. */
export type KeyRedaction = { redacted: true } | { redacted: false; reason: string };
