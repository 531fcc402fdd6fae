import { describe, expect, it } from "vitest";
import { slackTs } from "./chat-fields.js";
import type { ReplyParse } from "./chat-format.js";
import { MAX_REPLY_BODY_CHARS } from "./chat-reply.js";
import { context, LIMITS, ROOT_ID, textEvent } from "./chat-test-fixtures.js";
import { slackFormat } from "./slack.js";

const reply = (body: string, limits = LIMITS) => slackFormat.reply(body, "application/json", limits);
const only = (r: ReplyParse) => {
  if (r.kind !== "reply") throw new Error(`expected a reply, got ${JSON.stringify(r)}`);
  return r.reply;
};

describe("slack format: request", () => {
  it("posts a form with exactly Slack's twelve fields, in Slack's order", () => {
    const req = slackFormat.request(textEvent(), context({ thread: { rootEventId: ROOT_ID, rootTs: 1504640714003 } }));
    expect(req.contentType).toBe("application/x-www-form-urlencoded");
    expect(req.headers).toEqual({ "user-agent": "matrix-webhook-bridge/0.1.0" });
    expect([...new URLSearchParams(req.body)]).toEqual([
      ["token", "tok en&=1"],
      ["team_id", "example.org"],
      ["team_domain", "example.org"],
      ["channel_id", "!room:example.org"],
      ["channel_name", "town-square"],
      ["thread_ts", slackTs(1504640714003, ROOT_ID)],
      ["timestamp", slackTs(1504640775123, "$ev1:example.org")],
      ["user_id", "@alice:example.org"],
      ["user_name", "Alice A."],
      ["text", "build status & more"],
      ["trigger_word", "build"],
      ["service_id", "hook-id-1"],
    ]);
    // Form encoding: spaces as +, reserved characters escaped.
    expect(req.body).toContain("token=tok+en%26%3D1&");
    expect(req.body).toContain("channel_id=%21room%3Aexample.org&");
  });

  it("sends an empty thread_ts outside threads and refuses direct messages", () => {
    expect(new URLSearchParams(slackFormat.request(textEvent(), context()).body).get("thread_ts")).toBe("");
    expect(slackFormat.allowsDirectMessages).toBe(false);
    expect(slackFormat.name).toBe("slack");
  });
});

describe("slack format: reply", () => {
  it("turns mrkdwn and Slack links into HTML and readable text", () => {
    const r = only(reply(JSON.stringify({ text: "*Deploy* done: <https://ci.example/1|build 1> for <@U1|bob> <!here> &lt;3 <https://x.example>" })));
    expect(r.parts).toEqual([
      {
        text: "*Deploy* done: build 1 (https://ci.example/1) for @bob @here <3 https://x.example",
        html: '<strong>Deploy</strong> done: <a href="https://ci.example/1">build 1</a> for @bob @here &lt;3 <a href="https://x.example">https://x.example</a>',
      },
    ]);
    expect(r).toMatchObject({ truncated: false, startThread: false });
  });

  it("renders attachments after the text, as the inbound /slack route does, and keeps username / icon_url", () => {
    const r = only(
      reply(JSON.stringify({ text: "Report", attachments: [{ title: "Build 7", title_link: "https://ci.example/7", fields: [{ title: "Status", value: "green" }] }], username: "ci-bot", icon_url: "https://i.example/ci.png" })),
    );
    expect(r.parts).toHaveLength(1);
    expect(r.parts[0]!.text).toBe("Report\n> Build 7 (https://ci.example/7)\n> Status: green");
    expect(r.parts[0]!.html).toContain('<blockquote><strong><a href="https://ci.example/7">Build 7</a></strong>');
    expect(r).toMatchObject({ username: "ci-bot", iconUrl: "https://i.example/ci.png" });
    expect(only(reply(JSON.stringify({ attachments: [{ text: "only *this*" }] }))).parts[0]!.text).toBe("> only *this*");
  });

  it("shows the text as it is with mrkdwn: false", () => {
    expect(only(reply(JSON.stringify({ text: "*a* <b>\nc", mrkdwn: false }))).parts).toEqual([{ text: "*a* <b>\nc", html: "*a* &lt;b&gt;<br>c" }]);
  });

  it("posts nothing for an empty body, blank text, {}, null fields, empty attachments or response_not_required", () => {
    for (const body of ["", "  \n", "{}", '{"text":""}', '{"text":"   "}', '{"text":null}', '{"attachments":[]}', '{"attachments":[{"color":"red"}]}', '{"text":"x","response_not_required":true}', '""', "null", '{"__proto__":{"text":"x"}}']) {
      expect(reply(body), body).toEqual({ kind: "none" });
    }
  });

  it("calls wrong answers malformed, with a reason, and never throws", () => {
    const cases: Array<[string, RegExp]> = [
      ["<html>oops</html>", /not JSON/],
      ["[1,2]", /list, not an object/],
      ["42", /number, not an object/],
      ['{"text":42}', /`text` is a number, not a string/],
      ['{"text":"x","attachments":{"a":1}}', /`attachments` is a object, not a list/],
      ['{"text":"x","username":7}', /`username`/],
      ['{"text":"x","icon_url":["u"]}', /`icon_url` is a list/],
      ['{"text":"x","mrkdwn":"no"}', /`mrkdwn`/],
    ];
    for (const [body, reason] of cases) {
      const r = reply(body);
      expect(r.kind, body).toBe("malformed");
      expect(r.kind === "malformed" && r.reason, body).toMatch(reason);
    }
    expect(slackFormat.reply("nope", "text/html; charset=utf-8", LIMITS)).toEqual({ kind: "malformed", reason: "the answer is not JSON (content type text/html; charset=utf-8)" });
  });

  it("stays bounded on hostile answers: huge, deeply nested, a megabyte of mrkdwn", () => {
    expect(reply(" ".repeat(MAX_REPLY_BODY_CHARS + 1)).kind).toBe("malformed");
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(["malformed", "none"]).toContain(reply(deep).kind);
    const deepObject = `{"text":"x","attachments":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
    expect(only(reply(deepObject)).parts[0]!.text).toBe("x");
    const r = only(reply(JSON.stringify({ text: "*_~".repeat(300_000) }), { maxChars: 4000, maxParts: 3 }));
    expect(r.parts).toHaveLength(3);
    expect(r.truncated).toBe(true);
    expect(r.parts[2]!.text).toMatch(/… \(reply cut: 888000 more characters\)$/);
  });

  it("splits a long reply into messages in order", () => {
    const text = Array.from({ length: 10 }, (_, i) => `*line ${i}*`).join("\n");
    const r = only(reply(JSON.stringify({ text }), { maxChars: 30, maxParts: 10 }));
    expect(r.parts.map((p) => p.html)).toEqual(["<strong>line 0</strong><br><strong>line 1</strong><br><strong>line 2</strong>", "<strong>line 3</strong><br><strong>line 4</strong><br><strong>line 5</strong>", "<strong>line 6</strong><br><strong>line 7</strong><br><strong>line 8</strong>", "<strong>line 9</strong>"]);
  });
});
