// A transaction whose live state cannot be saved because PostgreSQL fails: answered with an
// error (the homeserver sends it again), nothing of it stored, the failure logged without the
// driver's object; the retry once PostgreSQL works again stores it. Real HTTP, real stores.
import express from "express";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import { SqliteDeliveryQueue } from "../delivery/queue/sqlite-queue.js";
import type { MatrixPort, RoomEvent } from "../matrix/port.js";
import { appserviceRouter } from "../matrix/transactions.js";
import { createLogger } from "../observability/logger.js";
import { BridgeMetrics } from "../observability/metrics.js";
import { openDatabase } from "../store/database.js";
import { PgRoomSnapshotsTable } from "../store/postgres/pg-room-snapshots-table.js";
import { openPgStore } from "../store/postgres/pg-store.js";
import { freshDatabase } from "../store/postgres/pg-test-fixtures.js";
import { EventRouter } from "./event-router.js";
import { RoomSnapshots } from "./room-snapshots.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("live state while PostgreSQL fails (real HTTP endpoint, real stores)", () => {
  it("answers the transaction with an error and stores none of it; the homeserver's retry is stored once PostgreSQL works", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mwb-live-"));
    const db = openDatabase(join(dir, "bridge.db"));
    const queue = new SqliteDeliveryQueue(db);
    const url = await freshDatabase("live");
    const pool: pg.Pool = await openPgStore({ url, poolSize: 2 });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close(), () => queue.close(), () => pool.end());
    const lines: string[] = [];
    const log = createLogger("error", { write: (line: string) => void lines.push(line) } as unknown as NodeJS.WritableStream);
    const snapshots = new RoomSnapshots(new PgRoomSnapshotsTable(pool), log);
    await snapshots.save("!room:x", [{ type: "m.room.create", state_key: "", sender: "@admin:x", content: {} }]);

    const matrix = { botUserId: "@bot:x", isBridgeUser: () => false } as unknown as MatrixPort;
    const outbound = { registry: { forRoom: () => [] } } as unknown as OutboundHooks;
    const router = new EventRouter({ matrix, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log, snapshots });
    const app = express().use(appserviceRouter({ hsToken: "hs", sink: router, log, metrics: new BridgeMetrics({ defaultMetrics: false }) }));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
    const put = async (events: RoomEvent[]) => (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/_matrix/app/v1/transactions/t1`, {
      method: "PUT", headers: { authorization: "Bearer hs", "content-type": "application/json" }, body: JSON.stringify({ events }),
    })).status;
    const join_ = { event_id: "$join", room_id: "!room:x", type: "m.room.member", state_key: "@someone:x", sender: "@someone:x", origin_server_ts: 1, content: { membership: "join" } } as RoomEvent;

    // A real failure of the server: the table is not there for a moment.
    await pool.query("ALTER TABLE room_snapshots RENAME TO room_snapshots_away");
    expect(await put([join_])).toBe(500);
    expect(await queue.handledEvents("t1")).toBeNull();
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; err?: Record<string, unknown> }).find((line) => line.msg.includes("could not be stored"));
    expect(logged?.err).toMatchObject({ message: expect.stringContaining("room_snapshots"), code: "42P01" });
    expect(logged?.err).not.toHaveProperty("cause");

    await pool.query("ALTER TABLE room_snapshots_away RENAME TO room_snapshots");
    expect(await put([join_])).toBe(200);
    expect(await queue.handledEvents("t1")).toEqual(new Set(["$join"]));
    expect((await snapshots.saved("!room:x"))?.map((e) => e.type)).toEqual(["m.room.create", "m.room.member"]);
  });
});
