import { describe, expect, it } from "vitest";
import { channelName, chatFields, eventMillis, senderName, slackTs, stableIntId } from "./chat-fields.js";
import { context, ROOT_ID, textEvent } from "./chat-test-fixtures.js";

describe("chat fields (Matrix → Slack-style fields)", () => {
  it("maps every field of a message", () => {
    expect(chatFields(textEvent(), context())).toEqual({
      token: "tok en&=1",
      team_id: "example.org",
      team_domain: "example.org",
      channel_id: "!room:example.org",
      channel_name: "town-square",
      thread_ts: "",
      timestamp: slackTs(1504640775123, "$ev1:example.org"),
      timestampMs: 1504640775123,
      user_id: "@alice:example.org",
      user_name: "Alice A.",
      text: "build status & more",
      trigger_word: "build",
      service_id: "hook-id-1",
      post_id: "$ev1:example.org",
      file_ids: "",
    });
  });

  it("names the channel by alias localpart, else room name, else room id", () => {
    const room = { id: "!r:x", name: "Town Square", alias: "#town-square:example.org", direct: false };
    expect(channelName(room)).toBe("town-square");
    expect(channelName({ ...room, alias: null })).toBe("Town Square");
    expect(channelName({ ...room, alias: "not-an-alias" })).toBe("Town Square");
    expect(channelName({ ...room, alias: null, name: "  " })).toBe("!r:x");
  });

  it("names the user by display name, else mxid localpart", () => {
    expect(senderName({ id: "@bob:example.org", displayName: "Bob" })).toBe("Bob");
    expect(senderName({ id: "@bob:example.org", displayName: null })).toBe("bob");
    expect(senderName({ id: "@bob:example.org", displayName: " " })).toBe("bob");
  });

  it("writes Slack-style ts: seconds, milliseconds, three stable digits from the event id", () => {
    const ts = slackTs(1504640775123, "$a");
    expect(ts).toMatch(/^1504640775\.123\d{3}$/);
    expect(slackTs(1504640775123, "$a")).toBe(ts);
    expect(slackTs(1504640775123, "$b")).not.toBe(ts);
    expect(slackTs(5, "$a")).toMatch(/^0\.005\d{3}$/);
    expect(eventMillis(-1)).toBe(0);
    expect(eventMillis(1.5)).toBe(0);
    expect(eventMillis("1")).toBe(0);
  });

  it("gives thread_ts as the thread root's own timestamp, and '' when the root's time is unknown", () => {
    const root = chatFields(textEvent({ event_id: ROOT_ID, origin_server_ts: 1700000000001 }), context());
    const inThread = chatFields(textEvent(), context({ thread: { rootEventId: ROOT_ID, rootTs: 1700000000001 } }));
    expect(inThread.thread_ts).toBe(root.timestamp);
    expect(chatFields(textEvent(), context({ thread: { rootEventId: ROOT_ID, rootTs: null } })).thread_ts).toBe("");
  });

  it("sets trigger_word only for a trigger word", () => {
    expect(chatFields(textEvent(), context({ trigger: { kind: "every-event" } })).trigger_word).toBe("");
    expect(chatFields(textEvent(), context({ trigger: { kind: "mention" } })).trigger_word).toBe("");
  });

  it("lists a media event's mxc URL (plain or encrypted) in file_ids; text is the body", () => {
    const image = textEvent({ content: { msgtype: "m.image", body: "cat.png", url: "mxc://example.org/cat" } });
    expect(chatFields(image, context())).toMatchObject({ file_ids: "mxc://example.org/cat", text: "cat.png" });
    const encrypted = textEvent({ content: { msgtype: "m.file", body: "a.pdf", file: { url: "mxc://example.org/enc", key: {}, iv: "", hashes: {}, v: "v2" } } });
    expect(chatFields(encrypted, context()).file_ids).toBe("mxc://example.org/enc");
    expect(chatFields(textEvent({ type: "m.reaction", content: { "m.relates_to": {} } }), context())).toMatchObject({ file_ids: "", text: "" });
  });

  it("derives stable positive safe integer ids from Matrix ids", () => {
    const ids = ["$ev1:example.org", "@alice:example.org", "!room:example.org", ""];
    for (const id of ids) {
      const n = stableIntId(id);
      expect(Number.isSafeInteger(n) && n > 0, id).toBe(true);
      expect(stableIntId(id)).toBe(n);
    }
    expect(new Set(ids.map(stableIntId)).size).toBe(ids.length);
  });
});
