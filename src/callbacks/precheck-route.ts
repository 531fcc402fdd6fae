import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { presentedToken, tokensMatch } from "../matrix/hs-token.js";
import { isRoomEvent } from "../matrix/transactions.js";
import type { Logger } from "../observability/logger.js";
import type { BeforeSendJudge } from "./before-send-judge.js";
import type { BeforeSendVerdict } from "./before-send-verdict.js";
import { CheckedMessages } from "./checked-messages.js";

/** Where the Synapse module asks (synapse-module/README.md: the protocol). */
export const PRECHECK_PATH = "/_webhook-bridge/precheck/v1/events";

export interface PrecheckRouteOptions {
  /** callbacks.precheck.secret; null: the route answers 404 (no module expected). */
  secret: string | null;
  judge: BeforeSendJudge;
  checked: CheckedMessages;
  log: Logger;
}

/**
 * The Synapse module's question about a message it has not accepted yet: the room's before-hooks
 * are asked, and the combined verdict answered — allow, reject (with the reason for the sender),
 * drop or rewrite (with the new content). The message is remembered as checked, so that when it
 * arrives in a transaction the fallback does not judge it again.
 */
export function precheckRoute(opts: PrecheckRouteOptions): Router {
  const router = express.Router();
  const { secret } = opts;
  if (secret === null) return router;
  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    const presented = presentedToken(req);
    if (presented === null) return void res.status(401).json({ errcode: "M_UNAUTHORIZED", error: "Missing precheck secret" });
    if (!tokensMatch(presented, secret)) {
      opts.log.warn({ from: req.socket.remoteAddress }, "a precheck request with a wrong secret was refused; check the module's secret and callbacks.precheck");
      return void res.status(403).json({ errcode: "M_FORBIDDEN", error: "Wrong precheck secret" });
    }
    next();
  };
  router.post(PRECHECK_PATH, authenticate, express.json({ limit: 1024 * 1024, type: () => true }), (req, res) => {
    const event = (req.body as { event?: unknown } | null)?.event;
    if (!isRoomEvent(event) || !Number.isSafeInteger(event.origin_server_ts)) {
      return void res.status(400).json({ errcode: "M_BAD_JSON", error: "The body needs an event with event_id, room_id, sender, type, content and origin_server_ts" });
    }
    const judged = opts.judge.judges(event);
    // Remembered before the answer: the message may arrive in a transaction right after it.
    if (judged) opts.checked.remember(CheckedMessages.key(event.room_id, event.sender, event.origin_server_ts));
    const verdict: Promise<BeforeSendVerdict> = judged ? opts.judge.judge(event, "module").then((j) => j.verdict) : Promise.resolve({ verdict: "allow" });
    verdict.then(
      (v) => void res.json(v),
      (err: unknown) => {
        opts.log.error({ err, roomId: event.room_id }, "judging a message for the Synapse module failed; the module applies its failure policy");
        res.status(500).json({ errcode: "M_UNKNOWN", error: "The bridge could not judge the message" });
      },
    );
  });
  return router;
}
