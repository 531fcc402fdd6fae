import { describe, expect, it } from "vitest";
import { BotRooms } from "./bot-rooms.js";
import { validateBotContent } from "./bot-state.js";
import { OutboundHookRegistry, type ActiveOutboundHook } from "./outbound-hook-registry.js";
import { NO_FILTER } from "../outbound/hook-filter.js";

describe("validateBotContent", () => {
  it("defaults to the zulip format and POST", () => {
    const v = validateBotContent("helper", { name: "helper", url: "https://bot.example/hook" });
    expect(v).toMatchObject({ ok: true, value: { format: "zulip", method: "POST", urls: ["https://bot.example/hook"], filter: NO_FILTER } });
  });

  it("takes slack and mattermost, refuses other formats and hook-only filters, listing every problem", () => {
    expect(validateBotContent("h", { name: "h", url: "https://b.example/", format: "slack" })).toMatchObject({ ok: true, value: { format: "slack" } });
    const bad = validateBotContent("h", { name: "x", url: "ftp://b.example/", format: "hookshot", trigger_words: ["go"] });
    expect(bad.ok).toBe(false);
    const problems = (bad as { problems: string[] }).problems.join("\n");
    expect(problems).toMatch(/format: a bot's format is one of slack, mattermost, zulip/);
    expect(problems).toMatch(/trigger_words: bots fire on mentions/);
    expect(problems).toMatch(/name: "x" must equal the state key "h"/);
    expect(problems).toMatch(/url: the URL scheme "ftp"/);
    expect(validateBotContent("h", ["not", "an", "object"]).ok).toBe(false);
  });
});

describe("OutboundHookRegistry with bots", () => {
  const make = (kind: "hook" | "bot", id: string): ActiveOutboundHook => ({
    kind, id, roomId: "!r:x", name: "ci", url: "https://a.example/", urls: ["https://a.example/"], method: "POST", ordering: "none", format: "zulip", filter: NO_FILTER, contentType: "form", callback: null, tlsProfile: null, batch: null,
  });

  it("keys hooks and bots by kind and name: the same name does not collide", () => {
    const registry = new OutboundHookRegistry();
    registry.set(make("hook", "ep_1"));
    registry.set(make("bot", "bt_1"));
    expect(registry.get("!r:x", "ci")?.id).toBe("ep_1");
    expect(registry.get("!r:x", "ci", "bot")?.id).toBe("bt_1");
    expect(registry.ofKind("!r:x", "bot").map((h) => h.id)).toEqual(["bt_1"]);
    expect([...registry.bots()].map((h) => h.id)).toEqual(["bt_1"]);
    expect(registry.byLane("bt_1")?.kind).toBe("bot");
    registry.remove("!r:x", "ci", "bot");
    expect(registry.get("!r:x", "ci")?.id).toBe("ep_1");
    expect([...registry.bots()]).toEqual([]);
  });
});

describe("BotRooms", () => {
  it("knows loaded rooms' joined members and follows membership events; unknown rooms stay unknown", () => {
    const rooms = new BotRooms();
    rooms.loadState("!r:x", [
      { type: "m.room.member", state_key: "@alice:x", sender: "@alice:x", content: { membership: "join" } },
      { type: "m.room.member", state_key: "@bob:x", sender: "@alice:x", content: { membership: "invite" } },
      { type: "m.room.name", state_key: "", sender: "@alice:x", content: { name: "x" } },
    ]);
    expect([...rooms.joinedMembers("!r:x")!]).toEqual(["@alice:x"]);
    const member = (room: string, user: string, membership: string) => ({ event_id: "$m", room_id: room, sender: user, type: "m.room.member", state_key: user, origin_server_ts: 1, content: { membership } });
    rooms.observe(member("!r:x", "@bob:x", "join"));
    rooms.observe(member("!other:x", "@bob:x", "join"));
    expect(rooms.isJoined("!r:x", "@bob:x")).toBe(true);
    expect(rooms.joinedMembers("!other:x")).toBeNull();
    rooms.observe(member("!r:x", "@alice:x", "leave"));
    expect([...rooms.joinedMembers("!r:x")!]).toEqual(["@bob:x"]);
    expect(rooms.roomsOf("@bob:x")).toEqual(["!r:x"]);
  });
});
