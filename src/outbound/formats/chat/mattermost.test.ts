import { describe, expect, it } from "vitest";
import { sanitizeMatrixHtml } from "../../../inbound/html.js";
import { slackTs } from "./chat-fields.js";
import type { ReplyParse } from "./chat-format.js";
import { BUILD_REPORT, context, LIMITS, ROOT_ID, textEvent } from "./chat-test-fixtures.js";
import { mattermostFormat } from "./mattermost.js";
import { slackLinksToMarkdown } from "./slack-links.js";

const reply = (body: unknown, limits = LIMITS) => mattermostFormat.reply(typeof body === "string" ? body : JSON.stringify(body), "application/json", limits);
const only = (r: ReplyParse) => {
  if (r.kind !== "reply") throw new Error(`expected a reply, got ${JSON.stringify(r)}`);
  return r.reply;
};
const image = textEvent({ content: { msgtype: "m.image", body: "cat.png", url: "mxc://example.org/cat" } });
const inThread = context({ thread: { rootEventId: ROOT_ID, rootTs: 1504640714003 } });


describe("mattermost format: request", () => {
  it("posts a form with Mattermost's fields (keys sorted, as Go encodes them), timestamp in seconds", () => {
    const req = mattermostFormat.request(image, inThread);
    expect(req.contentType).toBe("application/x-www-form-urlencoded");
    expect(req.headers).toEqual({ accept: "application/json", "user-agent": "matrix-webhook-bridge/0.1.0" });
    expect([...new URLSearchParams(req.body)]).toEqual([
      ["channel_id", "!room:example.org"],
      ["channel_name", "town-square"],
      ["file_ids", "mxc://example.org/cat"],
      ["post_id", "$ev1:example.org"],
      ["service_id", "hook-id-1"],
      ["team_domain", "example.org"],
      ["team_id", "example.org"],
      ["text", "cat.png"],
      ["thread_ts", slackTs(1504640714003, ROOT_ID)],
      ["timestamp", "1504640775"],
      ["token", "tok en&=1"],
      ["trigger_word", "build"],
      ["user_id", "@alice:example.org"],
      ["user_name", "Alice A."],
    ]);
  });

  it("posts JSON with Mattermost's field order and timestamp in milliseconds when the hook asks for JSON", () => {
    const req = mattermostFormat.request(textEvent(), context({ contentType: "json" }));
    expect(req.contentType).toBe("application/json");
    expect(req.headers.accept).toBe("application/json");
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["token", "team_id", "team_domain", "channel_id", "channel_name", "timestamp", "user_id", "user_name", "post_id", "text", "trigger_word", "file_ids", "thread_ts", "service_id"]);
    expect(body).toEqual({
      token: "tok en&=1",
      team_id: "example.org",
      team_domain: "example.org",
      channel_id: "!room:example.org",
      channel_name: "town-square",
      timestamp: 1504640775123,
      user_id: "@alice:example.org",
      user_name: "Alice A.",
      post_id: "$ev1:example.org",
      text: "build status & more",
      trigger_word: "build",
      file_ids: "",
      thread_ts: "",
      service_id: "hook-id-1",
    });
    expect(mattermostFormat.allowsDirectMessages).toBe(true);
  });
});

describe("mattermost format: reply", () => {
  it("renders the seed's build report: rule, heading, a table with its links", () => {
    const r = only(reply({ text: BUILD_REPORT }));
    expect(r.parts).toHaveLength(1);
    const html = sanitizeMatrixHtml(r.parts[0]!.html!);
    expect(html).toMatch(/^<hr \/>\s*<h5>Build Break - Project X - December 12, 2015 - 15:32 GMT \+0<\/h5>\s*<table>/);
    expect(html).toContain("<th>Component</th>");
    expect(html).toContain("<td>948</td>");
    expect(html).toContain('<td>:warning: <a href="http://linktologs">2 (see details)</a></td>');
    expect(html.match(/<tr>/g)).toHaveLength(4);
    expect(html).toMatch(/<\/table>\s*<hr \/>$/);
    // The plain body is the markdown, readable as it is.
    expect(r.parts[0]!.text).toBe(BUILD_REPORT);
  });

  it("renders headings, emphasis and code blocks", () => {
    const r = only(reply({ text: "# A Header\nThe _text_ below **the** header.\n```js\nconst a = 1 < 2;\n```" }));
    expect(r.parts[0]!.html).toBe('<h1>A Header</h1>\n<p>The <em>text</em> below <strong>the</strong> header.</p>\n<pre><code class="language-js">const a = 1 &lt; 2;\n</code></pre>');
  });

  it("translates Slack links first, as Mattermost does", () => {
    const r = only(reply({ text: "Click <http://www.mattermost.com/|here> or <http://www.mattermost.com/>, ask <@U1|bob> in <#C1|town-square> <!channel>" }));
    expect(r.parts[0]!.html).toBe('Click <a href="http://www.mattermost.com/">here</a> or <a href="http://www.mattermost.com/">http://www.mattermost.com/</a>, ask @bob in #town-square @channel');
    expect(r.parts[0]!.text).toBe("Click [here](http://www.mattermost.com/) or <http://www.mattermost.com/>, ask @bob in #town-square @channel");
    expect(slackLinksToMarkdown("<https://a.example/x y|a [b]> <javascript:alert(1)|x> <nope>")).toBe("[a \\[b\\]](<https://a.example/x y>) <javascript:alert(1)|x> <nope>");
  });

  it("answers in a thread for response_type comment, and keeps username / icon_url", () => {
    expect(only(reply({ text: "x", response_type: "comment", username: "robot", icon_url: "http://i.example/a.jpg" }))).toMatchObject({ startThread: true, username: "robot", iconUrl: "http://i.example/a.jpg" });
    expect(only(reply({ text: "x", response_type: "post" })).startThread).toBe(false);
    expect(only(reply({ text: "x" })).startThread).toBe(false);
  });

  it("renders attachments", () => {
    expect(only(reply({ attachments: [{ pretext: "Deploy", text: "all *green*" }] })).parts[0]).toEqual({ text: "Deploy\n> all *green*", html: "Deploy<blockquote>all <strong>green</strong></blockquote>" });
  });

  it("splits a long reply, keeping code blocks whole in each message", () => {
    const code = Array.from({ length: 40 }, (_, i) => `echo ${i}`).join("\n");
    const r = only(reply({ text: `Log:\n\`\`\`sh\n${code}\n\`\`\`\nDone` }, { maxChars: 100, maxParts: 20 }));
    expect(r.parts.length).toBeGreaterThan(2);
    for (const p of r.parts.slice(0, -1)) expect(p.html).toMatch(/<pre><code class="language-sh">[\s\S]*<\/code><\/pre>$/);
    expect(r.parts.at(-1)!.html).toMatch(/<\/code><\/pre>\n<p>Done<\/p>$/);
    expect(r.parts.map((p) => p.html!.match(/echo \d+/g)!.join(",")).join(",")).toBe(Array.from({ length: 40 }, (_, i) => `echo ${i}`).join(","));
  });

  it("posts nothing for empty answers and calls wrong types malformed", () => {
    for (const body of ["", "{}", { text: "" }, { response_not_required: true, text: "x" }]) expect(reply(body)).toEqual({ kind: "none" });
    for (const body of [{ text: ["x"] }, { text: "x", response_type: 1 }, { attachments: "x" }, "{not json"]) expect(reply(body).kind, JSON.stringify(body)).toBe("malformed");
  });
});
