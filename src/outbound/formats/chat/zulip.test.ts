import { describe, expect, it } from "vitest";
import { stableIntId } from "./chat-fields.js";
import type { ReplyParse } from "./chat-format.js";
import { context, LIMITS, ROOT_ID, textEvent } from "./chat-test-fixtures.js";
import { zulipFormat, zulipTrigger } from "./zulip.js";

const reply = (body: unknown, limits = LIMITS) => zulipFormat.reply(typeof body === "string" ? body : JSON.stringify(body), "application/json", limits);
const only = (r: ReplyParse) => {
  if (r.kind !== "reply") throw new Error(`expected a reply, got ${JSON.stringify(r)}`);
  return r.reply;
};
const BOT = { userId: "@_webhook_bot_ci:example.org", displayName: "CI bot" };
const payload = (body: string) => JSON.parse(body) as { message: Record<string, unknown> } & Record<string, unknown>;

describe("zulip format: request", () => {
  it("posts Zulip's JSON for a mention in a room: every field, and the Matrix event beside them", () => {
    const event = textEvent({ content: { msgtype: "m.text", body: "CI bot: **build** <now>", format: "org.matrix.custom.html", formatted_body: "CI bot: <b>build</b> &lt;now&gt;" }, unsigned: { age: 5 } });
    const req = zulipFormat.request(event, context({ bot: BOT, trigger: { kind: "mention" }, thread: { rootEventId: ROOT_ID, rootTs: 1 } }));
    expect(req.contentType).toBe("application/json");
    expect(req.headers).toEqual({ "user-agent": "ZulipOutgoingWebhook/8.0 matrix-webhook-bridge/0.1.0" });
    expect(payload(req.body)).toEqual({
      bot_email: BOT.userId,
      bot_full_name: "CI bot",
      data: "CI bot: **build** <now>",
      message: {
        avatar_url: null,
        client: "Matrix",
        content: "CI bot: **build** <now>",
        display_recipient: "town-square",
        id: stableIntId("$ev1:example.org"),
        is_me_message: false,
        reactions: [],
        recipient_id: stableIntId("!room:example.org"),
        rendered_content: "<p>CI bot: <b>build</b> &lt;now&gt;</p>",
        sender_email: "@alice:example.org",
        sender_full_name: "Alice A.",
        sender_id: stableIntId("@alice:example.org"),
        sender_realm_str: "example.org",
        stream_id: stableIntId("!room:example.org"),
        subject: ROOT_ID,
        submessages: [],
        timestamp: 1504640775,
        topic_links: [],
        type: "stream",
        matrix_event: event,
      },
      token: "tok en&=1",
      trigger: "mention",
    });
  });

  it("sends a direct message as type private, to the sender and the bot, with no stream or topic", () => {
    const req = zulipFormat.request(textEvent(), context({ bot: BOT, trigger: { kind: "direct-message" }, room: { id: "!dm:example.org", name: null, alias: null, direct: true } }));
    const { message, trigger } = payload(req.body);
    expect(trigger).toBe("direct_message");
    expect(message).toMatchObject({ type: "private", subject: "", recipient_id: stableIntId("!dm:example.org"), rendered_content: "<p>build status &amp; more</p>" });
    expect(message).not.toHaveProperty("stream_id");
    const people = [
      { id: stableIntId("@alice:example.org"), email: "@alice:example.org", full_name: "Alice A.", is_mirror_dummy: false },
      { id: stableIntId(BOT.userId), email: BOT.userId, full_name: "CI bot", is_mirror_dummy: false },
    ].sort((a, b) => a.id - b.id);
    expect(message.display_recipient).toEqual(people);
  });

  it("writes an emote as Zulip's /me message", () => {
    const { data, message } = payload(zulipFormat.request(textEvent({ content: { msgtype: "m.emote", body: "waves" } }), context()).body);
    expect(data).toBe("/me waves");
    expect(message).toMatchObject({ content: "/me waves", is_me_message: true, rendered_content: "<p>/me waves</p>" });
  });

  it("names a plain hook's bot after the hook and maps triggers to Zulip's two words", () => {
    const { bot_email, bot_full_name } = payload(zulipFormat.request(textEvent(), context()).body);
    expect({ bot_email, bot_full_name }).toEqual({ bot_email: "ci@example.org", bot_full_name: "ci" });
    const room = context().room;
    expect(zulipTrigger(context({ trigger: { kind: "mention" } }))).toBe("mention");
    expect(zulipTrigger(context({ trigger: { kind: "direct-message" } }))).toBe("direct_message");
    expect(zulipTrigger(context({ trigger: { kind: "every-event" } }))).toBe("mention");
    expect(zulipTrigger(context({ trigger: { kind: "trigger-word", word: "build" } }))).toBe("mention");
    expect(zulipTrigger(context({ trigger: { kind: "every-event" }, room: { ...room, direct: true } }))).toBe("direct_message");
  });

  it("keeps an encrypted file's keys out of the Matrix event it sends", () => {
    const event = textEvent({ content: { msgtype: "m.file", body: "a.pdf", file: { url: "mxc://example.org/enc", key: { k: "secret" }, iv: "iv", hashes: { sha256: "h" }, v: "v2" } } });
    const { message } = payload(zulipFormat.request(event, context()).body);
    expect(message.matrix_event).toMatchObject({ content: { file: { url: "mxc://example.org/enc", v: "v2" } } });
    expect(JSON.stringify(message.matrix_event)).not.toContain("secret");
  });

  it("does bounded work on a deeply nested event", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const req = zulipFormat.request(textEvent({ content: { msgtype: "m.text", body: "hi", deep } }), context());
    expect(payload(req.body).data).toBe("hi");
    expect(req.body.length).toBeLessThan(1000);
    expect(zulipFormat.allowsDirectMessages).toBe(true);
  });
});

describe("zulip format: reply", () => {
  it("posts content as markdown, in the event's own thread (no new thread)", () => {
    const r = only(reply({ content: "**Done**: see [log](https://ci.example/1) @**Alice A.**\n\n- one\n- two" }));
    expect(r.parts).toEqual([
      {
        text: "**Done**: see [log](https://ci.example/1) @Alice A.\n\n- one\n- two",
        html: '<p><strong>Done</strong>: see <a href="https://ci.example/1">log</a> @Alice A.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>',
      },
    ]);
    expect(r.startThread).toBe(false);
    expect(r).not.toHaveProperty("username");
  });

  it("takes the deprecated response_string first, as Zulip does", () => {
    expect(only(reply({ response_string: "old", content: "new" })).parts[0]!.text).toBe("old");
    expect(only(reply({ response_string: "old" })).parts[0]!.text).toBe("old");
  });

  it("posts nothing for response_not_required, empty content, \"\" or an empty body", () => {
    for (const body of [{ response_not_required: true, content: "x" }, { content: "" }, { content: "  " }, {}, '""', "", { text: "slack field is not Zulip's" }]) expect(reply(body), JSON.stringify(body)).toEqual({ kind: "none" });
  });

  it("calls wrong types malformed", () => {
    for (const body of [{ content: 1 }, { content: { a: 1 } }, { response_string: false }, "[]", "not json"]) expect(reply(body).kind, JSON.stringify(body)).toBe("malformed");
  });

  it("splits long content with a marker when the cap cuts it", () => {
    const content = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
    const r = only(reply({ content }, { maxChars: 100, maxParts: 2 }));
    expect(r.parts).toHaveLength(2);
    expect(r.truncated).toBe(true);
    expect(r.parts[0]!.text.startsWith("line 0\nline 1\n")).toBe(true);
    expect(r.parts[1]!.html).toMatch(/<p><em>… \(reply cut: \d+ more characters\)<\/em><\/p>$/);
  });
});
