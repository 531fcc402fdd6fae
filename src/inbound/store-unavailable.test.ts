// PostgreSQL down during an inbound request: the sender hears 503 "try again later" (nothing it
// did wrong), the log says why without the stack reaching the sender, and the process goes on.
// The pool is the real driver's, pointed at a port where no server listens.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SsrfGuard } from "../egress/ssrf.js";
import { createHttpApp, listen } from "../http/server.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { InboundGhosts, MatrixPort } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { BridgeMetrics } from "../observability/metrics.js";
import { openDatabase } from "../store/database.js";
import { newInboundSecret } from "../store/inbound-hook-secret.js";
import { postgresBridgeConfig } from "../store/postgres/pg-test-fixtures.js";
import { createInbound, type InboundWiring } from "./wiring.js";

const config = postgresBridgeConfig("postgres://bridge@127.0.0.1:1/bridge");

const logged: string[] = [];
const pool = new pg.Pool({ connectionString: "postgres://bridge@127.0.0.1:1/bridge", connectionTimeoutMillis: 2_000 });
let inbound: InboundWiring;
let server: Server;
let base: string;
const agent = new Agent({ connections: 4 });

beforeAll(async () => {
  const log = createLogger("warn", { write: (line: string) => void logged.push(line) } as unknown as NodeJS.WritableStream);
  const matrix = { isBridgeUser: (userId: string) => /^@webhook_.*:example\.org$/.test(userId) } as unknown as MatrixPort & InboundGhosts;
  inbound = createInbound({
    config, matrix, db: openDatabase(":memory:"), pool, messenger: {} as DirectMessenger, guard: new SsrfGuard([]),
    metrics: new BridgeMetrics({ defaultMetrics: false }), log,
  });
  server = await listen(createHttpApp({ routers: [inbound.router], metrics: null, log, health: async () => ({ ok: true, detail: {} }) }), 0, "127.0.0.1");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await inbound.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await agent.close();
  await pool.end();
});

const send = async (method: "GET" | "POST", path: string, body?: string) => {
  const res = await request(`${base}${path}`, { method, dispatcher: agent, ...(body !== undefined ? { body, headers: { "content-type": "application/json" } } : {}) });
  return { status: res.statusCode, text: await res.body.text() };
};

describe("inbound requests while the PostgreSQL store is down", () => {
  it("answer 503 saying to try again, with no stack and no secret, and log the store's failure", async () => {
    const secret = newInboundSecret();
    const posted = await send("POST", `/webhook/${secret}`, JSON.stringify({ text: "hello" }));
    expect(posted.status).toBe(503);
    expect(JSON.parse(posted.text)).toEqual({ ok: false, error: "the bridge cannot reach its store right now; try again later" });
    const status = await send("GET", `/webhook/${secret}/posts/ip_${"a".repeat(22)}`);
    expect(status.status).toBe(503);
    const discord = await send("POST", `/webhook/${secret}/discord`, JSON.stringify({ content: "hello" }));
    expect(discord.status).toBe(503);
    expect(JSON.parse(discord.text)).toMatchObject({ message: "the bridge cannot reach its store right now; try again later" });
    for (const text of [posted.text, status.text, discord.text]) expect(text).not.toMatch(/ECONNREFUSED|\n\s+at /);
    const failures = logged.filter((line) => line.includes("the store could not be used"));
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.join("\n")).toContain("ECONNREFUSED");
    expect(logged.join("\n")).not.toContain(secret);
  });
});
