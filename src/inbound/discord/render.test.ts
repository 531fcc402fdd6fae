import { describe, expect, it } from "vitest";
import { sanitizeMatrixHtml } from "../html.js";
import { renderDiscordMessage, renderEmbed, renderFields, shownTime } from "./render.js";

describe("Discord embeds as Matrix text and HTML", () => {
  it("renders each field of an embed", () => {
    const r = renderEmbed({
      author: { name: "CI", url: "https://ci.example" }, title: "Build #7", url: "https://ci.example/7", description: "All **green**", color: 0x2ecc71,
      fields: [{ name: "Branch", value: "main", inline: true }, { name: "Time", value: "3m", inline: true }, { name: "Notes", value: "none", inline: false }],
      image: { url: "https://ci.example/chart.png" }, thumbnail: { url: "https://ci.example/t.png" }, footer: { text: "ci.example" }, timestamp: "2026-12-02T07:30:12.345Z",
    });
    expect(r.text).toBe([
      "> CI (https://ci.example)", "> Build #7 (https://ci.example/7)", "> All **green**", "> Branch: main | Time: 3m", "> Notes: none",
      "> Image: https://ci.example/chart.png", "> Thumbnail: https://ci.example/t.png", "> ci.example • 2026-12-02 07:30 UTC",
    ].join("\n"));
    expect(r.html).toBe(
      '<blockquote><font data-mx-color="#2ecc71" color="#2ecc71">▌</font><strong><a href="https://ci.example">CI</a></strong><br>' +
      '<strong><a href="https://ci.example/7">Build #7</a></strong><br>All <strong>green</strong>' +
      "<table><thead><tr><th>Branch</th><th>Time</th></tr></thead><tbody><tr><td>main</td><td>3m</td></tr></tbody></table>" +
      "<strong>Notes</strong><br>none<br>" +
      'Image: <a href="https://ci.example/chart.png">https://ci.example/chart.png</a><br>Thumbnail: <a href="https://ci.example/t.png">https://ci.example/t.png</a><br>' +
      "<sub>ci.example • 2026-12-02 07:30 UTC</sub></blockquote>",
    );
    // What Matrix allows keeps all of it.
    expect(sanitizeMatrixHtml(r.html).replace(/<br \/>/g, "<br>")).toBe(r.html);
  });

  it("escapes what senders write, and a title without url is plain", () => {
    const r = renderEmbed({ title: "<b>x</b>", author: { name: "a&b" }, fields: [{ name: "<i>", value: "<script>1</script>", inline: false }] });
    expect(r.html).toContain("<strong>&lt;b&gt;x&lt;/b&gt;</strong>");
    expect(r.html).toContain("<strong>a&amp;b</strong>");
    expect(sanitizeMatrixHtml(r.html)).not.toContain("<script");
    expect(renderEmbed({ fields: [] })).toEqual({ text: "", html: "" });
    expect(renderEmbed({ url: "https://x.example", fields: [] }).text).toBe("> https://x.example");
  });

  it("puts at most three inline fields in a row, as Discord does", () => {
    const f = (n: number) => ({ name: `n${n}`, value: `v${n}`, inline: true });
    expect(renderFields([f(1), f(2), f(3), f(4)]).map((r) => r.text)).toEqual(["n1: v1 | n2: v2 | n3: v3", "n4: v4"]);
  });

  it("joins the content (Discord markdown) and the embeds", () => {
    const r = renderDiscordMessage("Deploy **done** <@123>", [{ title: "T", fields: [] }, { fields: [] }]);
    expect(r.text).toBe("Deploy **done** <@123>\n\n> T");
    expect(r.html).toBe("Deploy <strong>done</strong> &lt;@123&gt;<blockquote><strong>T</strong></blockquote>");
    expect(renderDiscordMessage("", []).text).toBe("");
    expect(shownTime("not a time")).toBe("not a time");
  });
});
