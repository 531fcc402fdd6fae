import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Server } from "node:http";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";

/** The bridge's one HTTP listener: appservice API, /health, /metrics; errors answered as JSON. */
export function createHttpApp(opts: { routers: express.Router[]; metrics: BridgeMetrics | null; log: Logger; health: () => Promise<{ ok: boolean; detail?: Record<string, unknown> }> }): Express {
  const app = express();
  app.disable("x-powered-by");
  for (const router of opts.routers) app.use(router);
  app.get("/health", async (_req, res) => {
    const health = await opts.health().catch((err: unknown) => {
      opts.log.warn({ err }, "health check: the store did not answer");
      return { ok: false, detail: { error: "the store did not answer" } };
    });
    res.status(health.ok ? 200 : 503).json({ status: health.ok ? "ok" : "unhealthy", ...health.detail });
  });
  if (opts.metrics) {
    const registry = opts.metrics.registry;
    app.get("/metrics", async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.use((_req, res) => void res.status(404).json({ errcode: "M_UNRECOGNIZED", error: "Unknown endpoint" }));
  // Body parser errors carry a status; anything else is a bug, logged and answered without details.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err.status === "number" && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) opts.log.error({ err }, "unhandled error in HTTP handler");
    res.status(status).json({ errcode: status === 413 ? "M_TOO_LARGE" : status === 500 ? "M_UNKNOWN" : "M_BAD_JSON", error: status === 500 ? "Internal error" : err.message });
  });
  return app;
}

export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", reject);
  });
}
