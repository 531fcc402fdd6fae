// createInbound with a PostgreSQL pool: the inbound tables are PostgreSQL's (the SQLite file
// stays empty), and the queued-posts gauge counts there, keeping its last count once the store fails.
import { afterEach, describe, expect, it } from "vitest";
import { SsrfGuard } from "../egress/ssrf.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { InboundGhosts, MatrixPort } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { BridgeMetrics } from "../observability/metrics.js";
import { openDatabase } from "../store/database.js";
import { PgInboundPostsTable } from "../store/postgres/pg-inbound-posts-table.js";
import { openPgStore } from "../store/postgres/pg-store.js";
import { freshDatabase, postgresBridgeConfig } from "../store/postgres/pg-test-fixtures.js";
import { createInbound } from "./wiring.js";

const ends: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const end of ends.splice(0)) await end().catch(() => undefined);
});

describe("createInbound on PostgreSQL", () => {
  it("keeps hooks and posts in PostgreSQL, and the gauge counts them there", async () => {
    const url = await freshDatabase("wiring");
    const pool = await openPgStore({ url, poolSize: 2 });
    ends.push(() => pool.end());
    const config = postgresBridgeConfig(url);
    const db = openDatabase(":memory:");
    const metrics = new BridgeMetrics({ defaultMetrics: false });
    const matrix = { isBridgeUser: (userId: string) => userId.startsWith("@webhook_") } as unknown as MatrixPort & InboundGhosts;
    const inbound = createInbound({ config, matrix, db, pool, messenger: {} as DirectMessenger, guard: new SsrfGuard([]), metrics, log: createLogger("silent") });
    ends.push(() => inbound.stop());

    const secret = await inbound.hooks.prepare("!r:x", "ci", "@admin:x");
    const stored = await inbound.hooks.stored((await pool.query<{ id: string }>("SELECT id FROM inbound_hooks WHERE name = 'ci'")).rows[0]!.id);
    expect(stored).toMatchObject({ roomId: "!r:x", name: "ci" });
    expect((db.prepare("SELECT count(*) AS n FROM inbound_hooks").get() as { n: number }).n).toBe(0);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const posts = new PgInboundPostsTable(pool);
    for (let i = 0; i < 2; i++) await posts.store({ hookId: stored!.id, roomId: "!r:x", deliveryKey: null, parts: [{ body: "queued" }] });
    const gauge = () => metrics.registry.getSingleMetricAsString("webhook_bridge_inbound_posts_queued");
    expect(await gauge()).toContain("webhook_bridge_inbound_posts_queued 2");
    await pool.end();
    expect(await gauge()).toContain("webhook_bridge_inbound_posts_queued 2");
  });
});
