import { describe, expect, it } from "vitest";
import { hookIdOfLane, laneId, laneIds, laneUrl } from "./hook-lanes.js";

const hook = { id: "ep_abc", urls: ["https://a.example/", "https://b.example/", "https://c.example/"] };

describe("hook lanes (one per callback URL)", () => {
  it("names the first URL's lane after the hook, so one-URL hooks and older jobs keep their lane", () => {
    expect(laneId(hook.id, hook.urls, 0)).toBe("ep_abc");
  });

  it("gives every URL its own lane, and maps each back to its hook and URL", () => {
    const lanes = laneIds(hook);
    expect(new Set(lanes).size).toBe(3);
    for (const [i, lane] of lanes.entries()) {
      expect(hookIdOfLane(lane)).toBe("ep_abc");
      expect(laneUrl(hook, lane)).toBe(hook.urls[i]);
    }
  });

  it("keeps a URL's lane when the list is reordered, and finds no URL for a removed one", () => {
    const lane = laneIds(hook)[2]!;
    const reordered = { id: hook.id, urls: ["https://a.example/", "https://c.example/"] };
    expect(laneUrl(reordered, lane)).toBe("https://c.example/");
    expect(laneUrl({ id: hook.id, urls: ["https://a.example/"] }, lane)).toBeNull();
  });
});
