import { describe, expect, it } from "vitest";
import { buildContent, MAX_CONTENT_BYTES, PER_MESSAGE_PROFILE_KEY, RAW_PAYLOAD_KEY } from "./content.js";
import { genericMessage } from "./generic.js";
import { parsePayload } from "./payload.js";

const content = (value: unknown, opts: Partial<Parameters<typeof buildContent>[1]> = {}) =>
  buildContent(genericMessage({ kind: "json", value, raw: value }), { defaultMsgtype: "m.notice", raw: value, rawMaxBytes: 16384, ...opts });

describe("generic payloads", () => {
  it("renders text as markdown and keeps it as the body", () => {
    const c = content({ text: "**deploy** done\nsee [log](https://ci.example/1)" });
    expect(c).toMatchObject({ msgtype: "m.notice", body: "**deploy** done\nsee [log](https://ci.example/1)", format: "org.matrix.custom.html" });
    expect(c.formatted_body).toBe('<strong>deploy</strong> done<br />see <a href="https://ci.example/1">log</a>');
    expect(c[RAW_PAYLOAD_KEY]).toEqual({ text: "**deploy** done\nsee [log](https://ci.example/1)" });
  });

  it("sanitizes HTML to what Matrix allows and derives a plain body", () => {
    const c = content({ html: `<p onclick="x()">Hi <b>there</b><script>alert(1)</script><a href="javascript:alert(1)">j</a><img src="https://x/y.png" alt="pic"><img src="mxc://x/abc"></p>` });
    expect(c.formatted_body).toBe('<p>Hi <b>there</b><a>j</a><a href="https://x/y.png">pic</a><img src="mxc://x/abc" /></p>');
    expect(c.body).toBe("Hi therejpic");
  });

  it("takes msgtype, Discord/Revolt's content, and refuses wrong types", () => {
    expect(content({ content: "hi", msgtype: "m.text" })).toMatchObject({ msgtype: "m.text", body: "hi" });
    expect(() => content({ text: 5 })).toThrow('"text" must be a string');
    expect(() => content({ text: "x", msgtype: "m.image" })).toThrow(/"msgtype" must be one of/);
    expect(() => content({ text: "  " })).toThrow('"text" is empty');
  });

  it("takes no name of Object.prototype's properties for a msgtype, and reads such keys as data", () => {
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), "__proto__"]) {
      expect(() => content({ text: "x", msgtype: name }), name).toThrow(/"msgtype" must be one of/);
      const keyed = content(JSON.parse(`{"${name}": {"text": "not me"}}`));
      expect(String(keyed.body), name).toContain("Received webhook data");
    }
  });

  it("shows other JSON as a code block, as Hookshot does", () => {
    const c = content({ build: 7, ok: true });
    expect(c.body).toContain('"build": 7');
    expect(c.formatted_body).toMatch(/^<p>Received webhook data:<\/p><pre><code class="language-json">/);
    expect(content([1, 2]).body).toContain("Received webhook data");
  });

  it("reads a payload= form with Slack's fields as Slack does: <url|label> links and mrkdwn", () => {
    const form = (value: unknown) => {
      const payload = parsePayload(Buffer.from(`payload=${encodeURIComponent(JSON.stringify(value))}`), "application/x-www-form-urlencoded");
      return buildContent(genericMessage(payload), { defaultMsgtype: "m.notice", raw: null, rawMaxBytes: 0 });
    };
    expect(form({ text: "… <https://example.org/f|a form link> *done*" })).toMatchObject({
      body: "… a form link (https://example.org/f) *done*",
      formatted_body: '… <a href="https://example.org/f">a form link</a> <strong>done</strong>',
    });
    expect(form({ text: "plain", username: "ci" })).toMatchObject({ body: "plain" });
    // The generic route's own fields keep their meaning; a form without Slack's fields is shown as data.
    expect(form({ text: "**md**", msgtype: "m.text" })).toMatchObject({ msgtype: "m.text", formatted_body: "<strong>md</strong>" });
    expect(form({ build: 7 }).body).toContain("Received webhook data");
    // JSON bodies (not a form) stay markdown.
    expect(content({ text: "<https://example.org/f|x>" }).formatted_body).not.toContain('href="https://example.org/f"');
  });

  it("reads a bare Slack payload sent to the generic route", () => {
    expect(content({ attachments: [{ text: "from slack" }] }).body).toBe("> from slack");
  });

  it("applies a per-message identity only when asked, as an MSC4144 profile with fallback", () => {
    const plain = content({ text: "hi", username: "deploy-bot" });
    expect(plain.body).toBe("hi");
    expect(plain[PER_MESSAGE_PROFILE_KEY]).toBeUndefined();
    const masked = buildContent(genericMessage({ kind: "json", value: { text: "hi" }, raw: null }), {
      defaultMsgtype: "m.notice", raw: null, rawMaxBytes: 0, profile: { displayname: "deploy-bot", avatarUrl: "mxc://x/a" },
    });
    expect(masked.body).toBe("deploy-bot: hi");
    expect(masked.formatted_body).toBe("<strong data-mx-profile-fallback>deploy-bot: </strong>hi");
    expect(masked[PER_MESSAGE_PROFILE_KEY]).toEqual({ id: "webhook:deploy-bot", displayname: "deploy-bot", avatar_url: "mxc://x/a", has_fallback: true });
  });

  it("caps the raw payload and keeps every event under the size limit", () => {
    expect(content({ text: "x", pad: "y".repeat(20_000) })[RAW_PAYLOAD_KEY]).toBeUndefined();
    expect(content({ text: "x" }, { rawMaxBytes: 0 })[RAW_PAYLOAD_KEY]).toBeUndefined();
    const huge = content({ text: "é\"<".repeat(200_000) });
    expect(Buffer.byteLength(JSON.stringify(huge))).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
    expect(String(huge.body)).toMatch(/… \(truncated\)$/);
  });
});
