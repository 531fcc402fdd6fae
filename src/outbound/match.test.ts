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
  it("keeps a Synapse 1.67 redaction's top-level redacts (room versions before 11 have no content.redacts)", () => {
    // As Synapse 1.67 sends a redaction in a room of version 10 (its default) to an appservice.
    const redaction = {
      type: "m.room.redaction", room_id: "!r:x", sender: "@alice:x", content: {}, redacts: "$target",
      origin_server_ts: 1700000000000, unsigned: { age: 12 }, event_id: "$redaction", user_id: "@alice:x", age: 12,
    };
    const json = JSON.parse(outboundEventJson(redaction as never));
    expect(json.redacts).toBe("$target");
    expect(json).toEqual(redaction);
  });

  it("passes every top-level field through unchanged, the homeserver's own extras included", () => {
    const sent = { ...event, unsigned: { age: 5, "m.relations": {} }, future_field: { a: [1, "b"] }, user_id: "@alice:x" };
    expect(JSON.parse(outboundEventJson(sent as never))).toEqual(sent);
  });
});
