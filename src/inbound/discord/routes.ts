import type { Request, Response, Router } from "express";
import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import type { Logger } from "../../observability/logger.js";
import { isInboundSecretShape } from "../../store/inbound-hook-secret.js";
import { InboundError } from "../errors.js";
import type { TokenBuckets } from "../rate-limit.js";
import type { DiscordAnswer, DiscordEndpoint } from "./endpoint.js";
import { fromInboundError } from "./errors.js";

export interface DiscordRouteContext {
  endpoint: Pick<DiscordEndpoint, "execute" | "get" | "edit" | "remove">;
  resolve(secret: string): ActiveInboundHook | null | Promise<ActiveInboundHook | null>;
  limiter: TokenBuckets;
  /** The body, read up to the inbound cap (throws InboundError). */
  read(req: Request, res: Response): Promise<Buffer>;
  /** Sends an answer (and counts it). */
  answer(res: Response, status: number, body: Record<string, unknown> | null, headers?: Record<string, string>): void;
  log: Logger;
}

// Discord's `?wait=` is a boolean in the query.
const waits = (value: unknown) => typeof value === "string" && /^(true|1)$/i.test(value);

/**
 * `POST /webhook/{id}/discord` and `GET|PATCH|DELETE /webhook/{id}/discord/messages/{message_id}`:
 * look the hook up (unknown: 404 `{}` as on every inbound route), rate-limit, read, hand to the endpoint.
 */
export function mountDiscordRoutes(router: Router, ctx: DiscordRouteContext): void {
  const handle = (work: (hook: ActiveInboundHook, req: Request, res: Response) => Promise<DiscordAnswer>) => async (req: Request, res: Response): Promise<void> => {
    try {
      const secret = String(req.params.hookId ?? "");
      const hook = isInboundSecretShape(secret) ? await ctx.resolve(secret) : null;
      if (!hook) return ctx.answer(res, 404, {});
      const taken = ctx.limiter.take(hook.id);
      if (!taken.ok) throw new InboundError("rate_limited", "this hook is over its rate limit", taken.retryAfterSeconds);
      const answer = await work(hook, req, res);
      const headers: Record<string, string> = answer.retryAfterSeconds !== undefined ? { "Retry-After": String(answer.retryAfterSeconds) } : {};
      ctx.answer(res, answer.status, answer.body ?? null, headers);
    } catch (err) {
      if (err instanceof InboundError) {
        const d = fromInboundError(err);
        return ctx.answer(res, d.status, d.body, d.retryAfterSeconds !== undefined ? { "Retry-After": String(d.retryAfterSeconds) } : {});
      }
      ctx.log.error({ err }, "discord webhook request failed");
      ctx.answer(res, 500, { message: "500: Internal Server Error", code: 0 });
    }
  };
  const id = (req: Request) => String(req.params.messageId ?? "");
  router.post("/webhook/:hookId/discord", handle(async (hook, req, res) => ctx.endpoint.execute(hook, waits(req.query.wait), req.headers, await ctx.read(req, res))));
  router.get("/webhook/:hookId/discord/messages/:messageId", handle(async (hook, req) => ctx.endpoint.get(hook, id(req))));
  router.patch("/webhook/:hookId/discord/messages/:messageId", handle(async (hook, req, res) => ctx.endpoint.edit(hook, id(req), req.headers, await ctx.read(req, res))));
  router.delete("/webhook/:hookId/discord/messages/:messageId", handle(async (hook, req) => ctx.endpoint.remove(hook, id(req))));
}
