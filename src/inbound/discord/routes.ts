import type { Request, Response, Router } from "express";
import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import type { Logger } from "../../observability/logger.js";
import { isInboundSecretShape } from "../../store/inbound-hook-secret.js";
import { StoreUnavailableError } from "../../store/store-unavailable.js";
import { InboundError, storeUnavailable } from "../errors.js";
import type { TokenBuckets } from "../rate-limit.js";
import type { DiscordAnswer, DiscordEndpoint } from "./endpoint.js";
import { fromInboundError } from "./errors.js";
import type { HookManagement } from "../manage/hook-management.js";
import { discordWebhookObject, managementEditOf } from "./webhook-object.js";

export interface DiscordRouteContext {
  endpoint: Pick<DiscordEndpoint, "execute" | "get" | "edit" | "remove">;
  /** Get, Modify and Delete Webhook with Token (absent: those answer 404). */
  management?: Pick<HookManagement, "edit" | "remove">;
  resolve(secret: string): Promise<ActiveInboundHook | null>;
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
 * Where Discord's webhook routes are: `/webhook/{secret}/discord`, and Discord's own URL shape
 * `/api[/v10]/webhooks/{hook id}/{secret}`, so that a tool or library that builds Discord URLs
 * from an id and a token (discord.js's WebhookClient) works with the bridge as its API base.
 */
const BASES = ["/webhook/:hookId/discord", "/api/webhooks/:webhookId/:hookId", "/api/:version/webhooks/:webhookId/:hookId"];

/**
 * Discord's execute webhook (`POST`), get/modify/delete webhook with token (`GET|PATCH|DELETE`) and
 * `GET|PATCH|DELETE …/messages/{message_id}`: look the hook up (unknown: 404 `{}` as on every
 * inbound route), rate-limit, read, hand to the endpoint.
 */
export function mountDiscordRoutes(router: Router, ctx: DiscordRouteContext): void {
  const handle = (work: (hook: ActiveInboundHook, req: Request, res: Response) => Promise<DiscordAnswer>) => async (req: Request, res: Response): Promise<void> => {
    try {
      const secret = String(req.params.hookId ?? "");
      const resolved = isInboundSecretShape(secret) ? await ctx.resolve(secret) : null;
      // Discord's URL shape names the hook twice: its id must be this hook's.
      const hook = resolved && aliasMatches(req, resolved) ? resolved : null;
      if (!hook) return ctx.answer(res, 404, {});
      const taken = ctx.limiter.take(hook.id);
      if (!taken.ok) throw new InboundError("rate_limited", "this hook is over its rate limit", taken.retryAfterSeconds);
      const answer = await work(hook, req, res);
      const headers: Record<string, string> = answer.retryAfterSeconds !== undefined ? { "Retry-After": String(answer.retryAfterSeconds) } : {};
      ctx.answer(res, answer.status, answer.body ?? null, headers);
    } catch (caught) {
      let err = caught;
      if (err instanceof StoreUnavailableError) {
        ctx.log.error({ err: err.logged() }, "discord webhook request: the store could not be used; answered 503");
        err = storeUnavailable();
      }
      if (err instanceof InboundError) {
        const d = fromInboundError(err);
        return ctx.answer(res, d.status, d.body, d.retryAfterSeconds !== undefined ? { "Retry-After": String(d.retryAfterSeconds) } : {});
      }
      ctx.log.error({ err }, "discord webhook request failed");
      ctx.answer(res, 500, { message: "500: Internal Server Error", code: 0 });
    }
  };
  const id = (req: Request) => String(req.params.messageId ?? "");
  for (const base of BASES) {
    router.post(base, handle(async (hook, req, res) => ctx.endpoint.execute(hook, waits(req.query.wait), req.headers, await ctx.read(req, res))));
    router.get(`${base}/messages/:messageId`, handle(async (hook, req) => ctx.endpoint.get(hook, id(req))));
    router.patch(`${base}/messages/:messageId`, handle(async (hook, req, res) => ctx.endpoint.edit(hook, id(req), req.headers, await ctx.read(req, res))));
    router.delete(`${base}/messages/:messageId`, handle(async (hook, req) => ctx.endpoint.remove(hook, id(req))));
    const management = ctx.management;
    if (!management) continue;
    router.get(base, handle(async (hook) => ({ status: 200, body: discordWebhookObject(hook) })));
    router.patch(base, handle(async (hook, req, res) => {
      const edited = await management.edit(hook, managementEditOf(await ctx.read(req, res)));
      const name = typeof edited.body?.name === "string" ? edited.body.name : hook.name;
      return { status: 200, body: discordWebhookObject({ ...hook, name }) };
    }));
    router.delete(base, handle(async (hook) => ({ status: (await management.remove(hook)).status })));
  }
}

/** On Discord's URL shape: the version is Discord's (`v6`…`v99`) and the id is the hook's. */
function aliasMatches(req: Request, hook: ActiveInboundHook): boolean {
  const version = req.params.version;
  if (version !== undefined && !/^v\d{1,2}$/.test(String(version))) return false;
  return req.params.webhookId === undefined || req.params.webhookId === hook.id;
}
