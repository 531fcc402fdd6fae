import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { Logger } from "../observability/logger.js";
import { isInboundSecretShape } from "../store/inbound-hook-secret.js";
import { StoreUnavailableError } from "../store/store-unavailable.js";
import { InboundError, storeUnavailable } from "./errors.js";
import type { TokenBuckets } from "./rate-limit.js";
import type { InboundRoute, PostResult } from "./receive.js";
import type { DiscordEndpoint } from "./discord/endpoint.js";
import { mountDiscordRoutes } from "./discord/routes.js";
import type { HookManagement } from "./manage/hook-management.js";
import type { MessageEdits } from "./message-edits.js";

export interface InboundRouterOptions {
  /** The live hook a URL secret names, or null. */
  resolve(secret: string): Promise<ActiveInboundHook | null>;
  receiver: { receive(hook: ActiveInboundHook, route: InboundRoute, headers: Request["headers"], body: Buffer): Promise<PostResult> };
  limiter: TokenBuckets;
  maxBodyBytes: number;
  log: Logger;
  /** Discord's webhook routes (`/webhook/{id}/discord…`); absent: they answer 404. */
  discord?: Pick<DiscordEndpoint, "execute" | "get" | "edit" | "remove">;
  /** `GET|PATCH|DELETE /webhook/{id}`: the hook managed with its URL; absent: 404. */
  management?: Pick<HookManagement, "view" | "edit" | "remove">;
  /** `PATCH|DELETE /webhook/{id}/messages/{eventId}`: the hook's own messages edited or deleted; absent: 404. */
  messageEdits?: Pick<MessageEdits, "edit" | "remove">;
  /** `GET /webhook/{id}/posts/{postId}`: the state of one of the hook's posts, or null (404). */
  postStatus?(hook: ActiveInboundHook, postId: string): Promise<Record<string, unknown> | null>;
  /** Called with every answer's status (metrics). */
  onAnswer?(status: number, route: InboundRoute | "discord" | null): void;
}

// The path's last segment comes from outside: a Map, so "constructor" or "__proto__" name no route.
const ROUTES = new Map<string, InboundRoute>([["", "generic"], ["slack", "slack"], ["github", "github"]]);

/** The route a path's variant segment names, or null. */
export const routeFor = (variant: string): InboundRoute | null => ROUTES.get(variant) ?? null;

/**
 * `POST|PUT /webhook/{hookId}[/slack|/github]`: look the hook up, rate-limit, read the body up to
 * the cap, hand it to the receiver, answer. Unknown ids and routes get 404 `{}` and nothing else.
 * These routes never touch the appservice transaction flow.
 */
export function inboundRouter(opts: InboundRouterOptions): Router {
  const router = express.Router();
  // Raw bytes whatever the content type: GitHub signs the exact body. No inflation: a body is
  // capped as sent, and compressed ones are refused (415).
  const readBody = express.raw({ limit: opts.maxBodyBytes, type: () => true, inflate: false });
  const read = (req: Request, res: Response) =>
    new Promise<Buffer>((resolve, reject) => readBody(req, res, (err?: unknown) => (err ? reject(bodyError(err, opts.maxBodyBytes)) : resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)))));

  // A null body: an empty answer (Discord's 204).
  const answer = (res: Response, route: InboundRoute | "discord" | null, status: number, body: Record<string, unknown> | null, headers: Record<string, string> = {}) => {
    opts.onAnswer?.(status, route);
    if (res.headersSent) return;
    if (body === null) res.status(status).set(headers).end();
    else res.status(status).set(headers).json(body);
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    const route = routeFor(String(req.params.variant ?? ""));
    const secret = String(req.params.hookId ?? "");
    try {
      const hook = route !== null && isInboundSecretShape(secret) ? await opts.resolve(secret) : null;
      if (!hook || route === null) throw new InboundError("not_found", "not found");
      const taken = opts.limiter.take(hook.id);
      if (!taken.ok) throw new InboundError("rate_limited", "this hook is over its rate limit", taken.retryAfterSeconds);
      const body = await read(req, res);
      const result = await opts.receiver.receive(hook, route, req.headers, body);
      if (result.response && result.kind !== "queued") {
        // The hook's function chose the answer (Hookshot's webhookResponse); sandboxed, so a body
        // it declares HTML cannot script the bridge's origin.
        const { body: text, contentType, statusCode } = result.response;
        opts.onAnswer?.(statusCode, route);
        res.status(statusCode).set({ "Content-Type": contentType ?? "text/plain; charset=utf-8", "Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff" }).send(text);
        return;
      }
      if (result.kind === "posted") answer(res, route, 200, { ok: true, event_id: result.eventId });
      else if (result.kind === "skipped") answer(res, route, 200, { ok: true, posted: false });
      else answer(res, route, 202, { ok: true, queued: true, id: result.id });
    } catch (err) {
      fail(res, route, err);
    }
  };

  const fail = (res: Response, route: InboundRoute | null, err: unknown) => {
    if (err instanceof StoreUnavailableError) {
      opts.log.error({ err: err.logged(), route }, "inbound webhook: the store could not be used; answered 503");
      err = storeUnavailable();
    }
    if (err instanceof InboundError) {
      const headers: Record<string, string> = err.retryAfterSeconds !== undefined ? { "Retry-After": String(err.retryAfterSeconds) } : {};
      answer(res, route, err.status, err.body(), headers);
      return;
    }
    opts.log.error({ err }, "inbound webhook failed");
    answer(res, route, 500, { ok: false, error: "internal error" });
  };

  // Not rate-limited: a sender may poll for its post without using up its posting budget.
  const postStatus = async (req: Request, res: Response): Promise<void> => {
    const secret = String(req.params.hookId ?? "");
    try {
      const hook = opts.postStatus && isInboundSecretShape(secret) ? await opts.resolve(secret) : null;
      const status = hook ? await opts.postStatus!(hook, String(req.params.postId ?? "")) : null;
      if (!status) throw new InboundError("not_found", "not found");
      answer(res, "generic", 200, status);
    } catch (err) {
      fail(res, "generic", err);
    }
  };

  // A route on a known hook, rate-limited like posting: the work's answer, or its InboundError.
  type Answer = { status: number; body?: Record<string, unknown> };
  const hooked = (work: (hook: ActiveInboundHook, req: Request, res: Response) => Answer | Promise<Answer>) => async (req: Request, res: Response): Promise<void> => {
    const secret = String(req.params.hookId ?? "");
    try {
      const hook = isInboundSecretShape(secret) ? await opts.resolve(secret) : null;
      if (!hook) throw new InboundError("not_found", "not found");
      const taken = opts.limiter.take(hook.id);
      if (!taken.ok) throw new InboundError("rate_limited", "this hook is over its rate limit", taken.retryAfterSeconds);
      const done = await work(hook, req, res);
      answer(res, "generic", done.status, done.body ?? null);
    } catch (err) {
      fail(res, "generic", err);
    }
  };
  const eventId = (req: Request) => String(req.params.eventId ?? "");

  if (opts.management) {
    const management = opts.management;
    router.get("/webhook/:hookId", hooked((hook) => management.view(hook)));
    router.patch("/webhook/:hookId", hooked(async (hook, req, res) => management.edit(hook, await read(req, res))));
    router.delete("/webhook/:hookId", hooked((hook) => management.remove(hook)));
  }
  if (opts.messageEdits) {
    const edits = opts.messageEdits;
    router.patch("/webhook/:hookId/messages/:eventId", hooked(async (hook, req, res) => edits.edit(hook, eventId(req), req.headers, await read(req, res))));
    router.delete("/webhook/:hookId/messages/:eventId", hooked((hook, req) => edits.remove(hook, eventId(req))));
  }
  if (opts.discord) {
    mountDiscordRoutes(router, { endpoint: opts.discord, ...(opts.management ? { management: opts.management } : {}), resolve: opts.resolve, limiter: opts.limiter, read, log: opts.log, answer: (res, ...rest) => answer(res, "discord", ...rest) });
  }
  router.route("/webhook/:hookId").post(handle).put(handle);
  router.route("/webhook/:hookId/:variant").post(handle).put(handle);
  router.get("/webhook/:hookId/posts/:postId", postStatus);
  // Under /webhook and Discord's URL shape nothing else answers: 404 `{}` for any other path or
  // method, and for a path that cannot be URI-decoded.
  const INBOUND_PREFIXES = ["/webhook", "/api/webhooks", "/api/:version/webhooks"];
  router.use(INBOUND_PREFIXES, (_req, res) => answer(res, null, 404, {}));
  router.use(INBOUND_PREFIXES, (_err: unknown, _req: Request, res: Response, _next: NextFunction) => answer(res, null, 404, {}));
  return router;
}

/** body-parser's errors carry a status; keep their short messages, never a stack. */
function bodyError(err: unknown, limit: number): InboundError {
  const e = err as { status?: number; type?: string; message?: string };
  if (e.status === 413) return new InboundError("too_large", `the body is larger than ${limit} bytes`);
  if (e.status === 415) return new InboundError("unsupported", "compressed bodies are not supported (send it without Content-Encoding)");
  return new InboundError("bad_request", `the body could not be read (${String(e.message ?? "unknown error").slice(0, 100)})`);
}
