import type { BridgeConfig } from "../../config/types.js";
import type { InboundGhosts } from "../../matrix/port.js";
import type { Logger } from "../../observability/logger.js";
import { PostedMessages } from "../posted-messages.js";
import type { PostSubmitter } from "../submitter.js";
import { DiscordEndpoint } from "./endpoint.js";

/** The Discord routes' endpoint over the inbound hooks' submitter and ghosts (one line in inbound/wiring.ts). */
export function createDiscordEndpoint(deps: {
  submitter: PostSubmitter;
  ghosts: InboundGhosts;
  ghostUserId(hookId: string): string;
  overrideAvatar(url: string): Promise<string | null>;
  postedWith(hookId: string, eventId: string): Promise<string[]>;
  config: BridgeConfig;
  log: Logger;
}): DiscordEndpoint {
  return new DiscordEndpoint({
    submitter: deps.submitter,
    messages: new PostedMessages({ ghosts: deps.ghosts, ghostUserId: deps.ghostUserId }),
    uploadMedia: (roomId, bytes, type, name) => deps.ghosts.uploadRoomMedia(roomId, bytes, type, name),
    overrideAvatar: deps.overrideAvatar,
    postedWith: deps.postedWith,
    allowIdentityOverride: deps.config.inbound.allowIdentityOverride,
    log: deps.log,
  });
}
