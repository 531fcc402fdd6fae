import type { BridgeRole } from "./config/types.js";

/** What a process of each role runs (docs/postgres.md, "Several processes"). */
export interface RolePlan {
  /** Homeserver transactions, the pre-send callback, commands, follow-ups, pruning, the bot's profile. */
  answersHomeserver: boolean;
  /** The delivery worker: claims outbound jobs and sends them. */
  delivers: boolean;
  /** Chat replies stored by any process's deliveries, posted into their rooms. */
  postsReplies: boolean;
  /** Inbound webhook URLs, media links, and posting what inbound hooks received. */
  servesInbound: boolean;
  /** The only process on its store (a PostgreSQL store refuses a second one): what it holds in memory is as stored. */
  alone: boolean;
}

export function rolePlan(role: BridgeRole): RolePlan {
  return {
    answersHomeserver: role === "all" || role === "appservice",
    delivers: role === "all" || role === "worker",
    postsReplies: role === "all" || role === "appservice",
    servesInbound: role === "all" || role === "inbound",
    alone: role === "all",
  };
}
