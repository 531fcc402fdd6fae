// Shared by tests that send homeserver transactions to the real endpoint (appserviceRouter) on
// loopback HTTP: put() expects the 200, duplicates() counts the ids answered as seen.
import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { createLogger } from "../observability/logger.js";
import { BridgeMetrics } from "../observability/metrics.js";
import type { RoomEvent } from "./port.js";
import { appserviceRouter, type TransactionSink } from "./transactions.js";

export interface TransactionEndpoint {
  /** `extra`: more fields of the body (e.g. to-device events). */
  put(txnId: string, events: RoomEvent[], extra?: Record<string, unknown>): Promise<void>;
  duplicates(): Promise<number>;
  close(): Promise<void>;
}

export async function transactionEndpoint(sink: TransactionSink): Promise<TransactionEndpoint> {
  const metrics = new BridgeMetrics({ defaultMetrics: false });
  const app = express().use(appserviceRouter({ hsToken: "hs", sink, log: createLogger("silent"), metrics }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async put(txnId, events, extra = {}) {
      const res = await fetch(`${url}/_matrix/app/v1/transactions/${txnId}`, { method: "PUT", headers: { authorization: "Bearer hs", "content-type": "application/json" }, body: JSON.stringify({ ...extra, events }) });
      expect(res.status).toBe(200);
    },
    async duplicates() {
      return (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === "webhook_bridge_transactions_total")?.values.find((v) => v.labels.result === "duplicate")?.value ?? 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
