import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { afterCommandsFor, isBeforeSendEvent, isTencentCommand, TENCENT_COMMANDS, tencentCommandInfo, tencentCommandTable, tencentMatrixTable } from "./commands.js";
import { ALICE, BOB, memberEvent, messageEvent, stateEvent } from "./tencent-test-fixtures.js";

const join_ = { membership: "join" };

describe("TENCENT_COMMANDS", () => {
  it("lists each word once, with a phase, a Matrix mapping and its Tencent page", () => {
    const words = TENCENT_COMMANDS.map((c) => c.word);
    expect(new Set(words).size).toBe(words.length);
    for (const c of TENCENT_COMMANDS) {
      expect(c.word).toMatch(/^Group\.Callback(Before|After)[A-Za-z]+$/);
      expect(c.phase).toBe(c.word.startsWith("Group.CallbackBefore") ? "before" : "after");
      expect(c.source).toMatch(/^https:\/\/www\.tencentcloud\.com\/document\/product\/1047\/\d+$/);
      expect(c.matrix.length).toBeGreaterThan(10);
    }
    expect(words).toEqual(expect.arrayContaining(["Group.CallbackBeforeSendMsg", "Group.CallbackAfterSendMsg", "Group.CallbackAfterNewMemberJoin", "Group.CallbackAfterMemberExit", "Group.CallbackAfterGroupInfoChanged", "Group.CallbackAfterRecallMsg"]));
  });

  it("knows its own words only", () => {
    expect(isTencentCommand("Group.CallbackAfterSendMsg")).toBe(true);
    expect(isTencentCommand("Group.CallbackAfterGroupDestroyed")).toBe(false);
    expect(isTencentCommand("__proto__")).toBe(false);
    expect(isTencentCommand(7)).toBe(false);
    expect(tencentCommandInfo("Group.CallbackBeforeSendMsg").phase).toBe("before");
  });

  it("is the table the README shows, in short", () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../../../README.md"), "utf8");
    expect(readme).toContain(tencentMatrixTable());
  });

  it("is the table docs/tencent-callbacks.md shows", () => {
    const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../../../docs/tencent-callbacks.md"), "utf8");
    expect(doc).toContain(tencentCommandTable());
  });
});

describe("afterCommandsFor: messages", () => {
  it("sends a message, an edit, a sticker and an encrypted message after the fact", () => {
    expect(afterCommandsFor(messageEvent())).toEqual(["Group.CallbackAfterSendMsg"]);
    expect(afterCommandsFor(messageEvent({ msgtype: "m.text", body: "* x", "m.new_content": { msgtype: "m.text", body: "x" }, "m.relates_to": { rel_type: "m.replace", event_id: "$a" } }))).toEqual(["Group.CallbackAfterSendMsg"]);
    expect(afterCommandsFor(messageEvent({ body: "cat", url: "mxc://example.org/cat" }, { type: "m.sticker" }))).toEqual(["Group.CallbackAfterSendMsg"]);
    expect(afterCommandsFor(messageEvent({ algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA" }, { type: "m.room.encrypted" }))).toEqual(["Group.CallbackAfterSendMsg"]);
  });

  it("sends nothing for reactions, receipts-like events or a state event that claims to be a message", () => {
    expect(afterCommandsFor(messageEvent({ "m.relates_to": { rel_type: "m.annotation", event_id: "$a", key: "👍" } }, { type: "m.reaction" }))).toEqual([]);
    expect(afterCommandsFor(messageEvent({ body: "x" }, { state_key: "" }))).toEqual([]);
    expect(afterCommandsFor(stateEvent("m.room.power_levels", { users: {} }))).toEqual([]);
  });
});

describe("isBeforeSendEvent", () => {
  it("judges messages, edits and stickers, not encrypted messages, reactions or state", () => {
    expect(isBeforeSendEvent(messageEvent())).toBe(true);
    expect(isBeforeSendEvent(messageEvent({ msgtype: "m.text", body: "* x", "m.new_content": { msgtype: "m.text", body: "x" }, "m.relates_to": { rel_type: "m.replace", event_id: "$a" } }))).toBe(true);
    expect(isBeforeSendEvent(messageEvent({ body: "cat", url: "mxc://example.org/cat" }, { type: "m.sticker" }))).toBe(true);
    expect(isBeforeSendEvent(messageEvent({ algorithm: "m.megolm.v1.aes-sha2" }, { type: "m.room.encrypted" }))).toBe(false);
    expect(isBeforeSendEvent(messageEvent({ key: "👍" }, { type: "m.reaction" }))).toBe(false);
    expect(isBeforeSendEvent(stateEvent("m.room.name", { name: "x" }))).toBe(false);
    expect(isBeforeSendEvent(memberEvent({ content: join_ }))).toBe(false);
  });
});

describe("afterCommandsFor: membership", () => {
  it("a join is a new member, whether it follows nothing, a leave, a knock or an invite", () => {
    for (const prev of [undefined, { membership: "leave" }, { membership: "knock" }, { membership: "invite" }]) {
      expect(afterCommandsFor(memberEvent({ content: join_, ...(prev ? { prev } : {}) })), JSON.stringify(prev)).toEqual(["Group.CallbackAfterNewMemberJoin"]);
    }
  });

  it("a join after a join is a profile change: a new display name is a member field change, an avatar alone is nothing", () => {
    expect(afterCommandsFor(memberEvent({ content: { membership: "join", displayname: "Al" }, prev: { membership: "join", displayname: "Alice" } }))).toEqual(["Group.CallbackAfterMemberFieldChanged"]);
    expect(afterCommandsFor(memberEvent({ content: { membership: "join" }, prev: { membership: "join", displayname: "Alice" } }))).toEqual(["Group.CallbackAfterMemberFieldChanged"]);
    expect(afterCommandsFor(memberEvent({ content: { membership: "join", displayname: "Alice", avatar_url: "mxc://a/b" }, prev: { membership: "join", displayname: "Alice" } }))).toEqual([]);
  });

  it("a leave or a ban of a member (or of someone whose previous membership is unknown) is an exit", () => {
    expect(afterCommandsFor(memberEvent({ content: { membership: "leave" }, prev: join_ }))).toEqual(["Group.CallbackAfterMemberExit"]);
    expect(afterCommandsFor(memberEvent({ sender: BOB, target: ALICE, content: { membership: "leave" }, prev: join_ }))).toEqual(["Group.CallbackAfterMemberExit"]);
    expect(afterCommandsFor(memberEvent({ sender: BOB, target: ALICE, content: { membership: "ban" }, prev: join_ }))).toEqual(["Group.CallbackAfterMemberExit"]);
    expect(afterCommandsFor(memberEvent({ content: { membership: "leave" } }))).toEqual(["Group.CallbackAfterMemberExit"]);
  });

  it("a refused or withdrawn invite, a withdrawn knock, an unban, a ban of a non-member, an invite or a knock is no exit and no join", () => {
    expect(afterCommandsFor(memberEvent({ content: { membership: "leave" }, prev: { membership: "invite" } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ sender: BOB, target: ALICE, content: { membership: "leave" }, prev: { membership: "invite" } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ content: { membership: "leave" }, prev: { membership: "knock" } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ sender: BOB, target: ALICE, content: { membership: "leave" }, prev: { membership: "ban" } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ sender: BOB, target: ALICE, content: { membership: "ban" }, prev: { membership: "leave" } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ sender: BOB, target: ALICE, content: { membership: "invite" } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ content: { membership: "knock" } }))).toEqual([]);
  });

  it("ignores odd membership content", () => {
    expect(afterCommandsFor(memberEvent({ content: {} }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ content: { membership: 7 } }))).toEqual([]);
    expect(afterCommandsFor(memberEvent({ content: { membership: "join" }, prev: "join" as unknown as Record<string, unknown> }))).toEqual(["Group.CallbackAfterNewMemberJoin"]);
  });
});

describe("afterCommandsFor: room info and redactions", () => {
  it("a name, topic or avatar change is a group info change, unless it set the same value again", () => {
    expect(afterCommandsFor(stateEvent("m.room.name", { name: "Town" }))).toEqual(["Group.CallbackAfterGroupInfoChanged"]);
    expect(afterCommandsFor(stateEvent("m.room.topic", { topic: "news" }, { topic: "old" }))).toEqual(["Group.CallbackAfterGroupInfoChanged"]);
    expect(afterCommandsFor(stateEvent("m.room.avatar", {}, { url: "mxc://a/b" }))).toEqual(["Group.CallbackAfterGroupInfoChanged"]);
    expect(afterCommandsFor(stateEvent("m.room.name", { name: "Town" }, { name: "Town" }))).toEqual([]);
    expect(afterCommandsFor({ ...stateEvent("m.room.name", { name: "Town" }), state_key: "x" })).toEqual([]);
  });

  it("a redaction is a withdrawal, with redacts at the top level or in content (room v11)", () => {
    const redaction = { ...messageEvent({}, { type: "m.room.redaction" }), redacts: "$msg0:example.org" };
    expect(afterCommandsFor(redaction)).toEqual(["Group.CallbackAfterRecallMsg"]);
    expect(afterCommandsFor(messageEvent({ redacts: "$msg0:example.org" }, { type: "m.room.redaction" }))).toEqual(["Group.CallbackAfterRecallMsg"]);
    expect(afterCommandsFor(messageEvent({ redacts: 5 }, { type: "m.room.redaction" }))).toEqual([]);
  });
});
