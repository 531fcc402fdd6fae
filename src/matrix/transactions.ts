import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Logger } from "../observability/logger.js";
import { StoreUnavailableError } from "../store/store-unavailable.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import { presentedToken, tokensMatch } from "./hs-token.js";
import type { RoomEvent } from "./port.js";
import { transactionCrypto, type TransactionCrypto } from "./encryption/transaction-crypto.js";

export interface TransactionSink {
  /**
   * The ids of the events already handled under this transaction id, or null when the id is new.
   * `events`: the transaction's, so that reads `handle` needs of them can start at once.
   */
  handledEvents(txnId: string, events?: readonly RoomEvent[]): Promise<ReadonlySet<string> | null>;
  /**
   * Must store everything the events ask for before resolving; a rejection makes the homeserver
   * retry. `earlier`: of a re-used id, the events handled under it before (not among `events`).
   * `crypto`: the transaction's to-device events, device lists and key counts (MSC2409, MSC3202).
   */
  handle(txnId: string, events: RoomEvent[], earlier: ReadonlySet<string> | null, crypto: TransactionCrypto | null): Promise<void>;
  /**
   * Handles the transaction in one round trip where it can (see EventRouter.handleIfNew): true
   * once stored; false when it did not, and the transaction is then handled as usual.
   */
  handleIfNew?(txnId: string, events: RoomEvent[], crypto: TransactionCrypto | null): Promise<boolean>;
  /** The encryption fields of a transaction whose events were all handled before. */
  handleCrypto?(crypto: TransactionCrypto): Promise<void>;
}

/**
 * The appservice API the homeserver calls: transactions (current path and the legacy one that
 * older homeservers use), ping, and user/alias queries (we create nothing on demand).
 */
export function appserviceRouter(opts: { hsToken: string; sink: TransactionSink; log: Logger; metrics: BridgeMetrics; maxBodyBytes?: number }): Router {
  const router = express.Router();
  const json = express.json({ limit: opts.maxBodyBytes ?? 64 * 1024 * 1024, type: () => true });

  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    const token = presentedToken(req);
    if (token === null) {
      res.status(401).json({ errcode: "M_UNAUTHORIZED", error: "Missing homeserver token" });
      return;
    }
    if (!tokensMatch(token, opts.hsToken)) {
      opts.metrics.transactions.inc({ result: "rejected" });
      res.status(403).json({ errcode: "M_FORBIDDEN", error: "Bad homeserver token" });
      return;
    }
    next();
  };

  // Transactions are handled one at a time, in the order the homeserver sends them.
  let chain: Promise<unknown> = Promise.resolve();

  const onTransaction = (req: Request, res: Response): void => {
    const txnId = String(req.params.txnId ?? "");
    const events: unknown = (req.body as { events?: unknown } | undefined)?.events;
    if (!txnId || !Array.isArray(events)) {
      res.status(400).json({ errcode: "M_BAD_JSON", error: "A transaction needs an id and an events array" });
      return;
    }
    const run = async (): Promise<void> => {
      // A re-used id is not always a re-send (Synapse numbers from 1 again after a restart,
      // Dendrite re-batches a retry under its first event's id): events new to it are handled.
      try {
        const valid = events.filter(isRoomEvent);
        const crypto = transactionCrypto(req.body);
        if (opts.sink.handleIfNew && (await opts.sink.handleIfNew(txnId, valid, crypto))) {
          opts.metrics.transactions.inc({ result: "processed" });
          res.json({});
          return;
        }
        const earlier = await opts.sink.handledEvents(txnId, valid);
        const fresh = earlier ? valid.filter((e) => !earlier.has(e.event_id)) : valid;
        if (earlier && fresh.length === 0) {
          // A re-used id may carry new to-device events (room keys) with no new room event: they
          // reach the devices (a replayed one is refused by Olm, harmlessly).
          if (crypto) await opts.sink.handleCrypto?.(crypto);
          opts.metrics.transactions.inc({ result: "duplicate" });
          res.json({});
          return;
        }
        if (earlier) opts.log.info({ txnId, newEvents: fresh.length, events: valid.length }, "transaction id seen before, with events not handled under it yet; handling those");
        await opts.sink.handle(txnId, fresh, earlier, crypto);
        opts.metrics.transactions.inc({ result: "processed" });
        res.json({});
      } catch (err) {
        opts.metrics.transactions.inc({ result: "failed" });
        // A store failure is logged by its message and code only (StoreUnavailableError.logged).
        opts.log.error({ err: err instanceof StoreUnavailableError ? err.logged() : err, txnId }, "transaction could not be stored; the homeserver will retry it");
        res.status(500).json({ errcode: "M_UNKNOWN", error: "The bridge could not store this transaction" });
      }
    };
    chain = chain.then(run, run);
  };

  router.put("/_matrix/app/v1/transactions/:txnId", authenticate, json, onTransaction);
  router.put("/transactions/:txnId", authenticate, json, onTransaction);
  // The body ({"transaction_id"}) is read, so the connection is left clean for the next request.
  router.post("/_matrix/app/v1/ping", authenticate, json, (_req, res) => void res.json({}));
  const notFound = (_req: Request, res: Response): void => void res.status(404).json({ errcode: "M_NOT_FOUND", error: "Not provided by this bridge" });
  for (const prefix of ["/_matrix/app/v1", ""]) {
    router.get(`${prefix}/users/:userId`, authenticate, notFound);
    router.get(`${prefix}/rooms/:alias`, authenticate, notFound);
  }
  return router;
}

/** The fields every room event has, with the right types (what the bridge relies on). */
export function isRoomEvent(value: unknown): value is RoomEvent {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.event_id === "string" && typeof e.room_id === "string" && typeof e.sender === "string" &&
    typeof e.type === "string" && typeof e.content === "object" && e.content !== null;
}
