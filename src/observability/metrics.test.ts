import { describe, expect, it } from "vitest";
import { FAILURE_CATEGORY_IDS } from "../delivery/failure-category.js";
import { BridgeMetrics } from "./metrics.js";

describe("delivery failure metric", () => {
  it("shows every category from the start, and names each in its help", async () => {
    const metrics = new BridgeMetrics({ defaultMetrics: false });
    const text = await metrics.registry.metrics();
    const help = text.split("\n").find((line) => line.startsWith("# HELP webhook_bridge_delivery_failures_total"))!;
    for (const category of FAILURE_CATEGORY_IDS) {
      expect(text).toContain(`webhook_bridge_delivery_failures_total{category="${category}"} 0`);
      expect(help).toContain(category);
    }
  });
});
