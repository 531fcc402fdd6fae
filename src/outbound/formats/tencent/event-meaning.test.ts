import { describe, expect, it } from "vitest";
import { memberChange, redactedEventId, roomInfoChange } from "./event-meaning.js";
import { ALICE, BOB, memberEvent, messageEvent, stateEvent } from "./tencent-test-fixtures.js";

describe("memberChange", () => {
  it('a self-join is "Apply"; a join after an invite is "Invited", naming the inviter when the homeserver does', () => {
    expect(memberChange(memberEvent({ content: { membership: "join" } }))).toEqual({ kind: "joined", joinType: "Apply", inviter: null });
    expect(memberChange(memberEvent({ content: { membership: "join" }, prev: { membership: "leave" } }))).toEqual({ kind: "joined", joinType: "Apply", inviter: null });
    expect(memberChange(memberEvent({ content: { membership: "join" }, prev: { membership: "invite" }, prevSender: BOB }))).toEqual({ kind: "joined", joinType: "Invited", inviter: BOB });
    expect(memberChange(memberEvent({ content: { membership: "join" }, prev: { membership: "invite" } }))).toEqual({ kind: "joined", joinType: "Invited", inviter: null });
  });

  it('a self-leave is "Quit"; a leave by someone else and any ban are "Kicked"', () => {
    expect(memberChange(memberEvent({ content: { membership: "leave" }, prev: { membership: "join" } }))).toEqual({ kind: "left", exitType: "Quit" });
    expect(memberChange(memberEvent({ sender: BOB, target: ALICE, content: { membership: "leave" }, prev: { membership: "join" } }))).toEqual({ kind: "left", exitType: "Kicked" });
    expect(memberChange(memberEvent({ sender: BOB, target: ALICE, content: { membership: "ban" }, prev: { membership: "join" } }))).toEqual({ kind: "left", exitType: "Kicked" });
  });

  it("a display name set, changed or removed is the group card (NameCard)", () => {
    expect(memberChange(memberEvent({ content: { membership: "join", displayname: "Al" }, prev: { membership: "join" } }))).toEqual({ kind: "renamed", nameCard: "Al" });
    expect(memberChange(memberEvent({ content: { membership: "join" }, prev: { membership: "join", displayname: "Al" } }))).toEqual({ kind: "renamed", nameCard: "" });
    expect(memberChange(memberEvent({ content: { membership: "join", displayname: 5 }, prev: { membership: "join" } }))).toBeNull();
  });

  it("reads the older top-level prev_content too", () => {
    const event = { ...memberEvent({ content: { membership: "leave" } }), prev_content: { membership: "invite" } };
    expect(memberChange(event)).toBeNull();
  });
});

describe("roomInfoChange", () => {
  it("gives the changed field with its new value (\"\" when removed)", () => {
    expect(roomInfoChange(stateEvent("m.room.name", { name: "Town" }))).toEqual({ field: "Name", value: "Town" });
    expect(roomInfoChange(stateEvent("m.room.name", {}, { name: "Town" }))).toEqual({ field: "Name", value: "" });
    expect(roomInfoChange(stateEvent("m.room.topic", { topic: "news" }))).toEqual({ field: "Introduction", value: "news" });
    expect(roomInfoChange(stateEvent("m.room.avatar", { url: "mxc://example.org/face" }))).toEqual({ field: "FaceUrl", value: "mxc://example.org/face" });
  });

  it("reads MSC3765's rich topic when there is no plain one", () => {
    const topic = { "m.topic": { "m.text": [{ mimetype: "text/html", body: "<b>news</b>" }, { body: "news" }] } };
    expect(roomInfoChange(stateEvent("m.room.topic", topic))).toEqual({ field: "Introduction", value: "news" });
    expect(roomInfoChange(stateEvent("m.room.topic", { "m.topic": { "m.text": "nope" } }))).toEqual({ field: "Introduction", value: "" });
  });

  it("ignores other events and non-string values as empty", () => {
    expect(roomInfoChange(messageEvent())).toBeNull();
    expect(roomInfoChange(stateEvent("m.room.name", { name: ["x"] }))).toEqual({ field: "Name", value: "" });
  });
});

describe("redactedEventId", () => {
  it("prefers the top-level redacts, then content.redacts; null for none", () => {
    const topLevel = { ...messageEvent({ redacts: "$b" }, { type: "m.room.redaction" }), redacts: "$a" };
    expect(redactedEventId(topLevel)).toBe("$a");
    expect(redactedEventId(messageEvent({ redacts: "$b" }, { type: "m.room.redaction" }))).toBe("$b");
    expect(redactedEventId(messageEvent({ redacts: "" }, { type: "m.room.redaction" }))).toBeNull();
    expect(redactedEventId(messageEvent({ redacts: "$b" }))).toBeNull();
  });
});
