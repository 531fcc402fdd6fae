import { describe, expect, it } from "vitest";
import { sanitizeMatrixHtml } from "./html.js";
import { slackMessage } from "./slack.js";
import { mrkdwn } from "./slack-mrkdwn.js";

describe("Slack mrkdwn", () => {
  it("turns links, mentions and formatting into text and HTML", () => {
    const r = mrkdwn("Deploy *done* for <https://x.example/a?b=1&amp;c=2|the app> by <@U1|bob>, <!here> &lt;3 _yay_ ~no~ `a*b*`");
    expect(r.text).toBe("Deploy *done* for the app (https://x.example/a?b=1&c=2) by @bob, @here <3 _yay_ ~no~ `a*b*`");
    expect(r.html).toBe('Deploy <strong>done</strong> for <a href="https://x.example/a?b=1&amp;c=2">the app</a> by @bob, @here &lt;3 <em>yay</em> <del>no</del> <code>a*b*</code>');
  });

  it("handles quotes, code blocks, bare links and channels", () => {
    expect(mrkdwn("> one\n> two\nafter").html).toBe("<blockquote>one<br>two</blockquote>after");
    expect(mrkdwn("```x <y>```").html).toBe("<pre><code>x &lt;y&gt;</code></pre>");
    expect(mrkdwn("<https://a.b> <#C1|general> <javascript:alert(1)|x>").text).toBe("https://a.b #general x");
  });

  it("decodes only the entities Slack writes; &name; for any other name, inherited ones included, stays as it is", () => {
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), "__proto__"]) expect(mrkdwn(`a &${name}; b`).text, name).toBe(`a &${name}; b`);
    expect(mrkdwn("&amp;lt; &lt;&gt;&quot;&#39;").text).toBe("&lt; <>\"'");
  });

  it("stays linear on hostile input", () => {
    const started = performance.now();
    mrkdwn("*_~".repeat(13_000) + "<".repeat(1000));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("Slack payloads", () => {
  it("prefers blocks over text and renders attachments", () => {
    const m = slackMessage({
      text: "notification only",
      blocks: [
        { type: "header", text: { type: "plain_text", text: "Release" } },
        { type: "section", text: { type: "mrkdwn", text: "*v2* is out" }, fields: [{ type: "mrkdwn", text: "Env: prod" }] },
        { type: "divider" },
        { type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open" }, url: "https://r.example" }] },
      ],
      attachments: [{ pretext: "Details", title: "Changelog", title_link: "https://c.example", fields: [{ title: "Size", value: "3 MB" }], footer: "ci" }],
      username: "release-bot",
      icon_url: "https://i.example/a.png",
    });
    expect(m.text).toBe("Release\n*v2* is out\nEnv: prod\n---\nOpen (https://r.example)\nDetails\n> Changelog (https://c.example)\n> Size: 3 MB\n> ci");
    expect(sanitizeMatrixHtml(m.html!)).toContain("<h4>Release</h4>");
    expect(m).toMatchObject({ username: "release-bot", avatarUrl: "https://i.example/a.png" });
  });

  it("renders rich_text blocks", () => {
    const m = slackMessage({ blocks: [{ type: "rich_text", elements: [
      { type: "rich_text_section", elements: [{ type: "text", text: "Hi ", style: { bold: true } }, { type: "user", user_id: "U1" }, { type: "emoji", name: "tada", unicode: "1f389" }] },
      { type: "rich_text_list", style: "bullet", elements: [{ type: "rich_text_section", elements: [{ type: "text", text: "one" }] }] },
    ] }] });
    expect(m.text).toBe("Hi @U1🎉\n- one");
    expect(m.html).toBe("<strong>Hi </strong>@U1🎉<ul><li>one</li></ul>");
  });

  it("refuses payloads with nothing to show", () => {
    expect(() => slackMessage({ blocks: [{ type: "unknown" }] })).toThrow(/no text, blocks or attachments/);
    expect(() => slackMessage("text")).toThrow(/JSON object/);
  });
});
