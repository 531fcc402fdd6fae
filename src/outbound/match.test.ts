import { describe, expect, it } from "vitest";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import { hooksForEvent, outboundEventJson } from "./match.js";

const hooks: ActiveOutboundHook[] = [
  { id: "ep_1", roomId: "!r:x", name: "a", url: "https://a.example/", method: "PUT", ordering: "none", format: "hookshot" },
  { id: "ep_2", roomId: "!r:x", name: "b", url: "https://b.example/", method: "POST", ordering: "none", format: "hookshot" },
];
const isBridgeUser = (u: string) => u === "@webhooks:x" || u.startsWith("@webhook_");
const event = { event_id: "$1", room_id: "!r:x", sender: "@alice:x", type: "m.room.message", content: { body: "hi" }, origin_server_ts: 1 };

describe("hooksForEvent", () => {
  it("sends a user's message to every hook of the room", () => {
    expect(hooksForEvent(event, hooks, isBridgeUser)).toEqual(["ep_1", "ep_2"]);
  });

  it("never forwards state events or the bridge's own users", () => {
    expect(hooksForEvent({ ...event, state_key: "" }, hooks, isBridgeUser)).toEqual([]);
    expect(hooksForEvent({ ...event, sender: "@webhooks:x" }, hooks, isBridgeUser)).toEqual([]);
    expect(hooksForEvent({ ...event, sender: "@webhook_ci:x" }, hooks, isBridgeUser)).toEqual([]);
  });
});

describe("outboundEventJson", () => {
  it("keeps the Matrix fields and drops transport extras", () => {
    const json = JSON.parse(outboundEventJson({ ...event, unsigned: { age: 5 }, ...{ user_id: "@alice:x", age: 5 } } as never));
    expect(Object.keys(json).sort()).toEqual(["content", "event_id", "origin_server_ts", "room_id", "sender", "type", "unsigned"]);
  });
});
