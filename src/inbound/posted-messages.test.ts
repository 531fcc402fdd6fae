import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../matrix/port.js";
import { editContent, PostedMessages } from "./posted-messages.js";

const hook = { id: "ih_1", roomId: "!r:x" };
const ghost = "@webhook_ih_1:x";
const events = new Map<string, RoomEvent>([
  ["$mine", { event_id: "$mine", room_id: "!r:x", sender: ghost, type: "m.room.message", content: { msgtype: "m.notice", body: "hi" }, origin_server_ts: 1 }],
  ["$theirs", { event_id: "$theirs", room_id: "!r:x", sender: "@webhook_ih_2:x", type: "m.room.message", content: { body: "x" }, origin_server_ts: 1 }],
  ["$gone", { event_id: "$gone", room_id: "!r:x", sender: ghost, type: "m.room.message", content: {}, origin_server_ts: 1 }],
]);

describe("PostedMessages", () => {
  const sent: Array<[string, string, Record<string, unknown>]> = [];
  const redacted: string[] = [];
  const messages = new PostedMessages({
    ghosts: {
      fetchEvent: async (_room: string, id: string) => events.get(id) ?? null,
      sendAsGhost: async (user: string, room: string, content: Record<string, unknown>) => (sent.push([user, room, content]), "$edit"),
      redactAsGhost: async (_user: string, _room: string, id: string) => void redacted.push(id),
    },
    ghostUserId: (id) => `@webhook_${id}:x`,
  });

  it("finds only the hook's own messages that are not redacted, and ids of the right shape", async () => {
    expect(await messages.owned(hook, "$mine")).not.toBeNull();
    expect(await messages.owned(hook, "$theirs")).toBeNull();
    expect(await messages.owned(hook, "$gone")).toBeNull();
    expect(await messages.owned(hook, "$missing")).toBeNull();
    expect(await messages.owned(hook, "../admin")).toBeNull();
  });

  it("edits and deletes as the ghost, and says not found for another hook's message", async () => {
    expect(await messages.edit(hook, "$mine", { msgtype: "m.notice", body: "new" })).toBe("$edit");
    expect(sent[0]![0]).toBe(ghost);
    await messages.remove(hook, "$mine", "done");
    expect(redacted).toEqual(["$mine"]);
    await expect(messages.edit(hook, "$theirs", { body: "x" })).rejects.toMatchObject({ status: 404 });
    await expect(messages.remove(hook, "$theirs")).rejects.toMatchObject({ status: 404 });
  });

  it("builds an edit clients show, with a fallback marked as one", () => {
    expect(editContent("$e", { msgtype: "m.text", body: "b", format: "org.matrix.custom.html", formatted_body: "<b>b</b>", "m.relates_to": { x: 1 } })).toEqual({
      msgtype: "m.text", body: "* b", format: "org.matrix.custom.html", formatted_body: "* <b>b</b>",
      "m.new_content": { msgtype: "m.text", body: "b", format: "org.matrix.custom.html", formatted_body: "<b>b</b>" },
      "m.relates_to": { rel_type: "m.replace", event_id: "$e" },
    });
  });
});
