import { describe, expect, it } from "vitest";
import { NO_FILTER } from "../outbound/hook-filter.js";
import { laneIds } from "./hook-lanes.js";
import { OutboundHookRegistry, type ActiveOutboundHook } from "./outbound-hook-registry.js";

const hook = (id: string, name: string, ordering: "none" | "strict", roomId = "!r:x"): ActiveOutboundHook => ({
  kind: "hook", id, roomId, name, url: "https://example.org/", urls: ["https://example.org/"], method: "PUT", ordering, format: "hookshot", filter: NO_FILTER, contentType: "form", callback: null, tlsProfile: null, batch: null,
});

describe("OutboundHookRegistry", () => {
  it("finds hooks by room, name and id, sorted by name", () => {
    const registry = new OutboundHookRegistry();
    registry.set(hook("ep_b", "b", "none"));
    registry.set(hook("ep_a", "a", "none"));
    expect(registry.forRoom("!r:x").map((h) => h.name)).toEqual(["a", "b"]);
    expect(registry.byId("ep_b")?.name).toBe("b");
    expect(registry.get("!r:x", "a")?.id).toBe("ep_a");
  });

  it("answers a room's hooks from a list it rebuilds whenever they change", () => {
    const registry = new OutboundHookRegistry();
    registry.set(hook("ep_b", "b", "none"));
    const first = registry.forRoom("!r:x");
    expect(registry.forRoom("!r:x")).toBe(first);
    registry.set(hook("ep_a", "a", "none"));
    expect(registry.forRoom("!r:x").map((h) => h.name)).toEqual(["a", "b"]);
    registry.set(hook("ep_b", "b", "none"));
    registry.set({ ...hook("ep_b", "b", "none"), url: "https://example.org/moved" });
    expect(registry.forRoom("!r:x").find((h) => h.name === "b")?.url).toBe("https://example.org/moved");
    registry.remove("!r:x", "a");
    expect(registry.forRoom("!r:x").map((h) => h.name)).toEqual(["b"]);
    expect(registry.forgetRoom("!r:x").map((h) => h.name)).toEqual(["b"]);
    expect(registry.forRoom("!r:x")).toEqual([]);
  });

  it("keeps the set of strictly ordered hooks up to date as hooks change and go", () => {
    const registry = new OutboundHookRegistry();
    registry.set(hook("ep_1", "one", "strict"));
    registry.set(hook("ep_2", "two", "none", "!other:x"));
    expect([...registry.strictlyOrderedIds()]).toEqual(["ep_1"]);
    registry.set(hook("ep_1", "one", "none"));
    expect(registry.strictlyOrderedIds().size).toBe(0);
    registry.set(hook("ep_2", "two", "strict", "!other:x"));
    expect([...registry.strictlyOrderedIds()]).toEqual(["ep_2"]);
    registry.forgetRoom("!other:x");
    expect(registry.strictlyOrderedIds().size).toBe(0);
    expect(registry.byId("ep_2")).toBeUndefined();
  });

  it("knows every lane of a strictly ordered hook with several URLs, and each lane's hook", () => {
    const registry = new OutboundHookRegistry();
    const multi = { ...hook("ep_m", "m", "strict"), urls: ["https://a.example/", "https://b.example/"] };
    registry.set(multi);
    const lanes = laneIds(multi);
    expect([...registry.strictlyOrderedIds()].sort()).toEqual([...lanes].sort());
    for (const lane of lanes) expect(registry.byLane(lane)?.id).toBe("ep_m");
    registry.remove("!r:x", "m");
    expect(registry.strictlyOrderedIds().size).toBe(0);
  });
});
