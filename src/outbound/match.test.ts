import { describe, expect, it } from "vitest";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import { laneIds } from "../connections/hook-lanes.js";
import { NO_FILTER, type HookFilter } from "./hook-filter.js";
import { hooksForEvent, outboundEventJson, triggerOf } from "./match.js";

const make = (id: string, url: string, filter: Partial<HookFilter> = {}, urls = [url]): ActiveOutboundHook => ({
  kind: "hook", id, roomId: "!r:x", name: id, url, urls, method: "PUT", ordering: "none", format: "hookshot", filter: { ...NO_FILTER, ...filter }, contentType: "form", callback: null, tlsProfile: null, batch: null,
});
const hooks: ActiveOutboundHook[] = [make("ep_1", "https://a.example/"), make("ep_2", "https://b.example/")];
const isBridgeUser = (u: string) => u === "@webhooks:x" || u.startsWith("@webhook_");
const event = { event_id: "$1", room_id: "!r:x", sender: "@alice:x", type: "m.room.message", content: { body: "hi" }, origin_server_ts: 1 };

const callback = (id: string, phase: "before" | "after", commands: string[] | null = null): ActiveOutboundHook => ({
  ...make(id, "https://app.example/cb"), format: "tencent", method: "POST",
  callback: { phase, commands, sdkAppId: "0", sign: true, retry: false, timeoutMs: 2000, onFailure: "allow" },
});

describe("hooksForEvent", () => {
  it("gives a Tencent after-callback the events of its command words, a before-hook none", () => {
    const all = callback("cb_all", "after");
    const joins = callback("cb_join", "after", ["Group.CallbackAfterNewMemberJoin"]);
    const gate = callback("cb_gate", "before");
    const join = { ...event, type: "m.room.member", state_key: "@alice:x", content: { membership: "join" } };
    const topic = { ...event, type: "m.room.topic", state_key: "", content: { topic: "t" } };
    const reaction = { ...event, type: "m.reaction", content: {} };
    expect(hooksForEvent(event, [all, joins, gate], isBridgeUser)).toEqual(["cb_all"]);
    expect(hooksForEvent(join, [all, joins, gate], isBridgeUser)).toEqual(["cb_all", "cb_join"]);
    expect(hooksForEvent(topic, [all, joins, gate], isBridgeUser)).toEqual(["cb_all"]);
    expect(hooksForEvent(reaction, [all, joins, gate], isBridgeUser)).toEqual([]);
  });


  it("sends a user's message to every hook of the room", () => {
    expect(hooksForEvent(event, hooks, isBridgeUser)).toEqual(["ep_1", "ep_2"]);
  });

  it("sends an event to each URL of a hook with several, one lane each", () => {
    const multi = make("ep_m", "https://a.example/", {}, ["https://a.example/", "https://b.example/"]);
    expect(hooksForEvent(event, [multi], isBridgeUser)).toEqual(laneIds(multi));
  });

  it("forwards state events only to hooks that ask for their type, never the bridge's own", () => {
    const members = make("ep_m", "https://a.example/", { eventTypes: ["m.room.member"] });
    const member = { ...event, type: "m.room.member", state_key: "@bob:x", content: { membership: "join" } };
    expect(hooksForEvent(member, [members, ...hooks], isBridgeUser)).toEqual(["ep_m"]);
    expect(hooksForEvent({ ...member, sender: "@webhook_x:x" }, [members], isBridgeUser)).toEqual([]);
    expect(hooksForEvent(event, [members], isBridgeUser)).toEqual([]);
  });

  it("never forwards state events or the bridge's own users", () => {
    expect(hooksForEvent({ ...event, state_key: "" }, hooks, isBridgeUser)).toEqual([]);
    expect(hooksForEvent({ ...event, sender: "@webhooks:x" }, hooks, isBridgeUser)).toEqual([]);
    expect(hooksForEvent({ ...event, sender: "@webhook_ci:x" }, hooks, isBridgeUser)).toEqual([]);
  });
});

describe("triggerOf (filters and trigger words)", () => {
  const msg = (body: unknown, extra: Record<string, unknown> = {}) => ({ ...event, content: { msgtype: "m.text", body, ...extra } });

  it("fires on every event without filters", () => {
    expect(triggerOf(hooks[0]!, msg("anything"))).toEqual({ kind: "every-event" });
  });

  it("first_word: the first word must equal a trigger word, which it names", () => {
    const hook = make("ep_t", "https://a.example/", { triggerWords: ["#build", "deploy"] });
    expect(triggerOf(hook, msg("#build Let's see the status"))).toEqual({ kind: "trigger-word", word: "#build" });
    expect(triggerOf(hook, msg("  deploy\tnow"))).toEqual({ kind: "trigger-word", word: "deploy" });
    expect(triggerOf(hook, msg("#builds are green"))).toBeNull();
    expect(triggerOf(hook, msg("please #build"))).toBeNull();
    expect(triggerOf(hook, msg(""))).toBeNull();
    expect(triggerOf(hook, msg(42))).toBeNull();
  });

  it("starts_with: the first word must start with a trigger word", () => {
    const hook = make("ep_t", "https://a.example/", { triggerWords: ["#bu"], triggerWhen: "starts_with" });
    expect(triggerOf(hook, msg("#build now"))).toEqual({ kind: "trigger-word", word: "#bu" });
    expect(triggerOf(hook, msg("x #build"))).toBeNull();
  });

  it("trigger words never fire on edits, state or other event types", () => {
    const hook = make("ep_t", "https://a.example/", { triggerWords: ["#build"] });
    expect(triggerOf(hook, msg("* #build", { "m.new_content": { body: "#build" }, "m.relates_to": { rel_type: "m.replace", event_id: "$0" } }))).toBeNull();
    expect(triggerOf(hook, { ...event, type: "m.reaction", content: { body: "#build" } })).toBeNull();
  });

  it("msgtype and event-type filters", () => {
    const images = make("ep_i", "https://a.example/", { msgtypes: ["m.image"] });
    expect(triggerOf(images, msg("pic.png", { msgtype: "m.image" }))).toEqual({ kind: "every-event" });
    expect(triggerOf(images, msg("hello"))).toBeNull();
    expect(triggerOf(images, { ...event, type: "m.reaction", content: {} })).toEqual({ kind: "every-event" });
    const onlyMessages = make("ep_o", "https://a.example/", { eventTypes: ["m.room.message"], msgtypes: ["m.text"] });
    expect(triggerOf(onlyMessages, { ...event, type: "m.reaction", content: {} })).toBeNull();
    expect(triggerOf(onlyMessages, msg("hi"))).toEqual({ kind: "every-event" });
    expect(triggerOf(onlyMessages, msg("hi", { msgtype: 7 }))).toBeNull();
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
