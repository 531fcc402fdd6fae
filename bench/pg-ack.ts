// What a homeserver transaction waits for on the PostgreSQL queue (npm run bench:pg-ack): the
// bridge's real transaction endpoint, router and queue in this process, on a PostgreSQL the
// benchmark starts (Debian's server, fsync on, in a temp dir), with no Synapse, receiver or
// deliveries. Transactions of 10 plain messages for a room with 2 hooks are sent one at a time
// (as a homeserver sends them) over one keep-alive connection, in rounds that alternate the ways
// a new transaction is stored. Alone (role all): its id checked as it is stored (one round trip),
// or read first (two), as a transaction with state events is. Beside other appservice processes
// (role appservice, its rooms followed from the accepted rows): the rooms' versions of their hooks
// checked as it is stored (one round trip), or read before it is routed (two), as before
// PostgreSQL migration 12. Prints p50/p99/max of PUT → 200 per way.
//
// Options (CLI --name=value, or env BENCH_NAME): transactions (per round, 500), rounds (4).
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { Pool } from "undici";
import { startPostgres } from "../spec/harness/postgres.js";
import type { InboundHooks } from "../src/connections/inbound-hooks.js";
import type { OutboundHooks } from "../src/connections/outbound-hooks.js";
import { PostgresDeliveryQueue } from "../src/delivery/queue/postgres-queue.js";
import type { MatrixPort, RoomEvent } from "../src/matrix/port.js";
import { appserviceRouter, type TransactionSink } from "../src/matrix/transactions.js";
import { createLogger } from "../src/observability/logger.js";
import { BridgeMetrics } from "../src/observability/metrics.js";
import { NO_FILTER } from "../src/outbound/hook-filter.js";
import { EventRouter } from "../src/router/event-router.js";
import { RoomFollower } from "../src/router/room-follower.js";
import { PgAcceptedHooksTable } from "../src/store/postgres/pg-accepted-hooks-table.js";
import { openPgStore } from "../src/store/postgres/pg-store.js";
import { wholeNumberOptions } from "./whole-number-options.js";
import { fmt, summarize, table } from "./stats.js";

const num = wholeNumberOptions({ transactions: 500, rounds: 4 });
const log = (line: string) => console.error(`[bench] ${line}`);

const WAYS = ["alone, id checked as stored", "alone, id read first", "beside others, versions checked as stored", "beside others, versions read first"] as const;
type Way = (typeof WAYS)[number];

async function main(): Promise<void> {
  const transactions = num("transactions");
  const rounds = num("rounds");
  log("starting PostgreSQL (Debian's server, fsync on) in a temp dir");
  const postgres = await startPostgres({ durable: true });
  const url = await postgres.createDatabase("ack");
  const pool = await openPgStore({ url, poolSize: 10 });
  const queue = await PostgresDeliveryQueue.open(pool, { url, shared: true });
  const matrix = { botUserId: "@bot:x", isBridgeUser: (userId: string) => userId === "@bot:x" } as unknown as MatrixPort;
  const hooks = [0, 1].map((i) => ({ id: `ep_${i}`, urls: [`https://receiver${i}.example/`], filter: NO_FILTER }));
  const outbound = { registry: { forRoom: () => hooks } } as unknown as OutboundHooks;
  const deps = { matrix, outbound, inbound: {} as InboundHooks, queue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent") };
  const alone = new EventRouter(deps);
  // Beside others: the room's hooks as accepted by another process (one row, version 1), followed at start.
  const accepted = new PgAcceptedHooksTable(pool);
  await accepted.accept("!room:x", "uk.half-shot.matrix-hookshot.outbound-hook", "ep_0", "$state", { url: "https://receiver0.example/" });
  const follower = new RoomFollower({ accepted, followers: [], log: createLogger("silent") });
  await follower.loadAll();
  const catchUp = (roomIds: Iterable<string>) => follower.catchUp(roomIds);
  const checking = new EventRouter({ ...deps, catchUp, versionsSeen: (roomIds) => follower.versionsSeen(roomIds) });
  const reading = new EventRouter({ ...deps, catchUp });
  let way: Way = WAYS[0];
  const routers: Record<Way, EventRouter> = { [WAYS[0]]: alone, [WAYS[1]]: alone, [WAYS[2]]: checking, [WAYS[3]]: reading };
  // "alone, id read first" hides handleIfNew, as for a transaction that needs the read.
  const sink: TransactionSink = {
    handledEvents: (txnId, events) => routers[way].handledEvents(txnId, events),
    handle: (txnId, events, earlier, crypto) => routers[way].handle(txnId, events, earlier, crypto),
    handleIfNew: (txnId, events, crypto) => (way === "alone, id read first" ? Promise.resolve(false) : routers[way].handleIfNew(txnId, events, crypto)),
  };
  const app = express().use(appserviceRouter({ hsToken: "hs", sink, log: createLogger("silent"), metrics: new BridgeMetrics({ defaultMetrics: false }) }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const http = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
  const times = new Map<Way, number[]>(WAYS.map((w) => [w, []]));
  let n = 0;
  const event = (): RoomEvent => {
    n++;
    return { event_id: `$${n}-${Math.random().toString(36).slice(2)}`, room_id: "!room:x", sender: "@someone:x", type: "m.room.message", origin_server_ts: Date.now(), content: { msgtype: "m.text", body: `message ${n} ${"x".repeat(200)}` } };
  };
  try {
    for (let round = 0; round < rounds * WAYS.length; round++) {
      way = WAYS[round % WAYS.length]!;
      log(`round ${round + 1} of ${rounds * WAYS.length}: ${transactions} transactions, ${way}`);
      for (let t = 0; t < transactions; t++) {
        const body = JSON.stringify({ events: Array.from({ length: 10 }, event) });
        const started = performance.now();
        const res = await http.request({ method: "PUT", path: `/_matrix/app/v1/transactions/r${round}-${t}`, headers: { authorization: "Bearer hs", "content-type": "application/json" }, body });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`transaction answered ${res.statusCode}`);
        times.get(way)!.push(performance.now() - started);
      }
    }
    console.log(`\nA transaction of 10 messages on the PostgreSQL queue, PUT → 200 (load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
    const rows: string[][] = [["process, new transaction", "transactions", "p50 ms", "p99 ms", "max ms"]];
    for (const [name, values] of times) {
      const s = summarize(values);
      rows.push([name, String(values.length), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.max, 2)]);
    }
    console.log(table(rows));
  } finally {
    await http.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await queue.close();
    await pool.end();
    await postgres.stop();
  }
}

main().catch((err: unknown) => {
  console.error("bench failed:", err);
  process.exitCode = 1;
});
