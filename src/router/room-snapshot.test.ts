import { describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../connections/outbound-hook-state.js";
import type { StateEvent } from "../matrix/port.js";
import { holdsEvent, isWellFormedSnapshot, keptInSnapshot, sameSnapshot, snapshotOf, withStateEvent } from "./room-snapshot.js";

const hook = (name: string, url: string, id: string): StateEvent => ({ type: OUTBOUND_HOOK_EVENT_TYPE, state_key: name, sender: "@a:x", content: { name, url }, event_id: id });
const topic: StateEvent = { type: "m.room.topic", state_key: "", sender: "@a:x", content: { topic: "t" }, event_id: "$t" };
const levels: StateEvent = { type: "m.room.power_levels", state_key: "", sender: "@a:x", content: { users: {} }, event_id: "$pl" };

describe("room snapshots", () => {
  it("keep hook state, power levels, create, encryption and members, and nothing else", () => {
    expect(keptInSnapshot(OUTBOUND_HOOK_EVENT_TYPE)).toBe(true);
    expect(keptInSnapshot("m.room.member")).toBe(true);
    expect(keptInSnapshot("m.room.topic")).toBe(false);
    expect(snapshotOf([topic, levels, hook("a", "http://x", "$1")]).map((e) => e.type)).toEqual(["m.room.power_levels", OUTBOUND_HOOK_EVENT_TYPE]);
  });

  it("drop fields the hooks are not built from, and events that are not state", () => {
    const fat = { ...hook("a", "http://x", "$1"), unsigned: { age: 1 }, origin_server_ts: 5 } as StateEvent;
    expect(snapshotOf([fat, { type: OUTBOUND_HOOK_EVENT_TYPE, sender: "@a:x", content: {} } as unknown as StateEvent])).toEqual([hook("a", "http://x", "$1")]);
  });

  it("replace the event of the same type and key with a live one, and ignore types they do not keep", () => {
    const before = [levels, hook("a", "http://x", "$1"), hook("b", "http://y", "$2")];
    const after = withStateEvent(before, hook("a", "http://z", "$3"));
    expect(after).toHaveLength(3);
    expect(after.find((e) => e.state_key === "a")?.content.url).toBe("http://z");
    expect(withStateEvent(before, topic)).toEqual(before);
  });

  it("compare by type, key, event id and content (a redaction keeps the id), in any order", () => {
    const a = [levels, hook("a", "http://x", "$1")];
    expect(sameSnapshot(a, [hook("a", "http://x", "$1"), levels])).toBe(true);
    expect(sameSnapshot(a, [levels, hook("a", "http://x", "$9")])).toBe(false);
    expect(sameSnapshot(a, [levels, { ...hook("a", "http://x", "$1"), content: {} }])).toBe(false);
    expect(sameSnapshot(a, [levels])).toBe(false);
    expect(sameSnapshot(a, [levels, hook("b", "http://x", "$1")])).toBe(false);
  });

  it("keep members as their membership only, and tell well-formed saved rows from others", () => {
    const member: StateEvent = { type: "m.room.member", state_key: "@b:x", sender: "@b:x", content: { membership: "join", displayname: "B", avatar_url: "mxc://x/y" }, event_id: "$m" };
    expect(snapshotOf([member])).toEqual([{ ...member, content: { membership: "join" } }]);
    expect(isWellFormedSnapshot(snapshotOf([member, levels]))).toBe(true);
    for (const bad of [null, {}, [null], [{ type: "m.room.create", state_key: "", sender: "@a:x" }], [{ ...levels, content: [] }], [{ ...levels, state_key: 1 }]]) expect(isWellFormedSnapshot(bad)).toBe(false);
    expect(withStateEvent([levels], { type: OUTBOUND_HOOK_EVENT_TYPE, state_key: "a", sender: "@a:x", content: null } as unknown as StateEvent)).toEqual([levels]);
    expect(holdsEvent([levels], "$pl")).toBe(true);
    expect(holdsEvent([levels], "$other")).toBe(false);
  });
});
