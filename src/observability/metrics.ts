import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { FAILURE_CATEGORY_IDS } from "../delivery/failure-category.js";

/** The bridge's Prometheus metrics, on their own registry so tests can make several bridges. */
export class BridgeMetrics {
  readonly registry = new Registry();

  readonly deliveries = new Counter({
    name: "webhook_bridge_deliveries_total",
    help: "Delivery attempts by outcome (success, retry, failed, dropped)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly deliveryFailures = new Counter({
    name: "webhook_bridge_delivery_failures_total",
    help: "Failed delivery attempts, and answers a format could not use (unparseable-response), by failure category (dns, unreachable, connection-refused, connection-reset, timeout, tls-certificate, mutual-tls, tls, http-status, unparseable-response, other)",
    labelNames: ["category"] as const,
    registers: [this.registry],
  });

  readonly malformedReplies = new Counter({
    name: "webhook_bridge_reply_malformed_total",
    help: "Receivers' answers that a chat format could not use (not JSON, wrong types); the delivery still counts as delivered",
    registers: [this.registry],
  });

  readonly attemptSeconds = new Histogram({
    name: "webhook_bridge_delivery_attempt_seconds",
    help: "Duration of one outbound HTTP attempt",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly transactions = new Counter({
    name: "webhook_bridge_transactions_total",
    help: "Homeserver transactions by result (processed, duplicate, rejected, failed)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly beforeSendVerdicts = new Counter({
    name: "webhook_bridge_before_send_verdicts_total",
    help: "Before-hooks' verdicts on messages (allow, reject, drop, rewrite), by path: module (asked by the Synapse pre-send module, before anyone saw it) or fallback (judged after it was sent; rejected ones redacted)",
    labelNames: ["verdict", "path"] as const,
    registers: [this.registry],
  });

  readonly encryptedEvents = new Counter({
    name: "webhook_bridge_encrypted_events_total",
    help: "Encrypted room events by result: decrypted, waiting (no key yet: kept, decrypted when the key arrives), decrypted-later, expired (the key never came within delivery.retentionDays)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: "webhook_bridge_queue_depth",
    help: "Delivery jobs waiting or in flight",
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // Every category shows from the start (at 0), so dashboards and alerts can name each one.
    for (const category of FAILURE_CATEGORY_IDS) this.deliveryFailures.inc({ category }, 0);
  }
}
