import type { BridgeConfig } from "../../config/types.js";
import type { OutboundHookRegistry } from "../../connections/outbound-hook-registry.js";
import type { WebhookBots } from "../../connections/webhook-bots.js";
import type { DeliveryTarget } from "../../delivery/targets.js";
import type { SsrfGuard } from "../../egress/ssrf.js";
import { AvatarImporter } from "../../inbound/avatar-import.js";
import { InboundPoster } from "../../inbound/poster.js";
import type { AppserviceMatrix } from "../../matrix/appservice-matrix.js";
import type { Logger } from "../../observability/logger.js";
import type { Db } from "../../store/database.js";
import type pg from "pg";
import { PgRepliesTable } from "../../store/postgres/pg-replies-table.js";
import { RepliesTable } from "../../store/replies-table.js";
import { chatFormat } from "../formats/chat/index.js";
import { triggerOf } from "../match.js";
import { ChatRenderer } from "./chat-renderer.js";
import { ChatReplies } from "./chat-replies.js";
import { ReplyPoster } from "./reply-poster.js";
import { RoomDirectory } from "./room-directory.js";

export interface ChatWiringDeps {
  config: BridgeConfig;
  matrix: AppserviceMatrix;
  db: Db;
  /** The PostgreSQL store (store.engine postgres), where the replies are then kept; null: the SQLite file. */
  pool: pg.Pool | null;
  registry: OutboundHookRegistry;
  /** Webhook bots: their ghosts' identities and DM rooms. */
  bots: Pick<WebhookBots, "ghostOf" | "isDirect" | "triggerAtSend">;
  guard: SsrfGuard;
  /** A reply that could not be used: told to the room once in a while, and counted. */
  onMalformed: (target: DeliveryTarget, reason: string) => void;
  userAgent: string;
  log: Logger;
  /** Stored replies are posted by another process (role worker): it is told instead of a poster here. */
  announceReplies?: () => void;
}

/** The chat formats' parts: request rendering with room context, replies stored and posted. */
export function createChat(deps: ChatWiringDeps) {
  const { config, matrix, registry, log } = deps;
  const directory = new RoomDirectory(matrix);
  const renderer = new ChatRenderer({
    formats: chatFormat,
    directory,
    matrix,
    serverName: config.homeserver.domain,
    userAgent: deps.userAgent,
    triggerOf: (hook, event) => (hook.kind === "bot" ? deps.bots.triggerAtSend(hook, event) : (triggerOf(hook, event) ?? { kind: "every-event" })),
    botOf: (hook) => (hook.kind === "bot" ? deps.bots.ghostOf(hook) : null),
    isDirect: (hook, event) => hook.kind === "bot" && deps.bots.isDirect(hook, event),
  });
  const table = deps.pool ? new PgRepliesTable(deps.pool) : new RepliesTable(deps.db);
  const poster = new ReplyPoster({
    table,
    poster: new InboundPoster(matrix),
    ghostOf: (hookId) => {
      const hook = registry.byId(hookId);
      return hook ? { id: hook.id, roomId: hook.roomId, name: hook.name, avatar: null } : null;
    },
    log,
  });
  const importer = new AvatarImporter(deps.guard, (bytes, type, name) => matrix.uploadMedia(bytes, type, name), config.inbound.avatarMaxBytes);
  const replies = new ChatReplies({
    formats: chatFormat,
    table,
    poster: deps.announceReplies ? { kick: deps.announceReplies } : poster,
    limits: { maxChars: config.replies.maxChars, maxParts: config.replies.maxParts },
    allowIdentityOverride: config.replies.allowIdentityOverride,
    importAvatar: (url) => importer.import(url).catch((err: unknown) => {
      log.info({ err }, "a reply's icon_url could not be used; posted without it");
      return null;
    }),
    onMalformed: deps.onMalformed,
    log,
  });
  return { directory, renderer, replies, poster, table };
}
