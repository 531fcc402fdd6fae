import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import type { MatrixPort } from "../matrix/port.js";

/** What a command handler gets: who asked where, how to answer, and the services it may use. */
export interface CommandContext {
  roomId: string;
  sender: string;
  prefix: string;
  reply(text: string, html?: string): Promise<void>;
  matrix: MatrixPort;
  outbound: OutboundHooks;
  inbound: InboundHooks;
}
