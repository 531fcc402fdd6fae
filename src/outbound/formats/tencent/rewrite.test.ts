import { describe, expect, it } from "vitest";
import { beforeSendVerdict, type TencentAnswer } from "./answer.js";
import { CUSTOM_ELEMENTS_KEY } from "./rewrite.js";

const rewrite = (msgBody: unknown[], original: Record<string, unknown>) => beforeSendVerdict({ kind: "answer", actionStatus: "OK", errorCode: 0, errorInfo: "", msgBody } satisfies TencentAnswer, original);
const textElem = (Text: unknown) => ({ MsgType: "TIMTextElem", MsgContent: { Text } });
const THREAD = { rel_type: "m.thread", event_id: "$root", is_falling_back: true, "m.in_reply_to": { event_id: "$root" } };

describe("beforeSendVerdict: rewrites", () => {
  it("a MsgBody equal to what was sent is no rewrite", () => {
    expect(rewrite([textElem("red packet")], { msgtype: "m.text", body: "red packet" })).toEqual({ verdict: "allow" });
    const image = { msgtype: "m.image", body: "cat.png", url: "mxc://example.org/cat", info: { mimetype: "image/png" } };
    // the receiver echoes the image with the URLs it was given: still the same image
    expect(rewrite([{ MsgType: "TIMImageElem", MsgContent: { UUID: "mxc://example.org/cat", ImageFormat: 3, ImageInfoArray: [{ Type: 1, URL: "https://bridge/x" }] } }], image)).toEqual({ verdict: "allow" });
  });

  it("new text replaces the body; the HTML, mentions and other fields of the original are gone, the thread stays", () => {
    const original = { msgtype: "m.text", body: "buy cheap stuff", format: "org.matrix.custom.html", formatted_body: "buy <b>cheap</b> stuff", "m.mentions": { user_ids: ["@bob:example.org"] }, "m.relates_to": THREAD };
    expect(rewrite([textElem("buy *** stuff")], original)).toEqual({ verdict: "rewrite", content: { msgtype: "m.text", body: "buy *** stuff", "m.relates_to": THREAD } });
  });

  it("keeps m.notice and m.emote; other msgtypes become m.text; texts are joined", () => {
    expect(rewrite([textElem("a"), textElem("b")], { msgtype: "m.emote", body: "waves" })).toEqual({ verdict: "rewrite", content: { msgtype: "m.emote", body: "ab" } });
    expect(rewrite([textElem("quiet")], { msgtype: "m.notice", body: "loud" })).toEqual({ verdict: "rewrite", content: { msgtype: "m.notice", body: "quiet" } });
    expect(rewrite([textElem("no image for you")], { msgtype: "m.image", body: "x.png", url: "mxc://example.org/x" })).toEqual({ verdict: "rewrite", content: { msgtype: "m.text", body: "no image for you" } });
  });

  it("Tencent's own example — the text plus a TIMCustomElem — posts the text and carries the custom element along", () => {
    const custom = { MsgType: "TIMCustomElem", MsgContent: { Desc: "CustomElement.MemberLevel", Data: "LV1" } };
    expect(rewrite([textElem("red packet"), custom], { msgtype: "m.text", body: "red packet" })).toEqual({
      verdict: "rewrite",
      content: { msgtype: "m.text", body: "red packet", [CUSTOM_ELEMENTS_KEY]: [{ Data: "LV1", Desc: "CustomElement.MemberLevel", Ext: "" }] },
    });
  });

  it("an edit stays an edit of the same event, judged and rewritten by its new text", () => {
    const relation = { rel_type: "m.replace", event_id: "$orig" };
    const edit = { msgtype: "m.text", body: "* bad word", "m.new_content": { msgtype: "m.text", body: "bad word", format: "org.matrix.custom.html", formatted_body: "<b>bad</b> word" }, "m.relates_to": relation };
    expect(rewrite([textElem("bad word")], edit)).toEqual({ verdict: "allow" });
    expect(rewrite([textElem("*** word")], edit)).toEqual({ verdict: "rewrite", content: { msgtype: "m.text", body: "* *** word", "m.new_content": { msgtype: "m.text", body: "*** word" }, "m.relates_to": relation } });
  });

  it("a rewrite the bridge cannot post refuses the message, saying why", () => {
    const original = { msgtype: "m.text", body: "hi" };
    const cases: [unknown[], RegExp, Record<string, unknown>?][] = [
      [[], /MsgBody is empty/],
      [[{ MsgType: "TIMImageElem", MsgContent: { UUID: "x" } }], /not TIMImageElem/],
      [[textElem("hi there"), { MsgType: "TIMFaceElem", MsgContent: { Index: 1 } }], /not TIMFaceElem/],
      [[{ MsgType: "TIMCustomElem", MsgContent: { Data: "LV1" } }], /no TIMTextElem/],
      [[textElem(5)], /Text is not a string/],
      [[textElem("x"), { MsgType: "TIMCustomElem", MsgContent: { Data: 1 } }], /Data, Desc or Ext is not a string/],
      [["just a string"], /not \{MsgType, MsgContent\}/],
      [[{ MsgType: "TIMTextElem" }], /not \{MsgType, MsgContent\}/],
      [[{ MsgType: "TIMTextElem", MsgContent: [] }], /not \{MsgType, MsgContent\}/],
      [[textElem("a cat")], /not stickers/, { body: "cat", url: "mxc://example.org/cat" }],
    ];
    for (const [msgBody, reason, orig] of cases) {
      const verdict = rewrite(msgBody, orig ?? original);
      expect(verdict.verdict, JSON.stringify(msgBody)).toBe("reject");
      expect(verdict.verdict === "reject" && verdict.reason, JSON.stringify(msgBody)).toMatch(reason);
    }
  });

  it("a huge rewrite is posted whole (the homeserver's size limit decides)", () => {
    const big = "z".repeat(100_000);
    expect(rewrite([textElem(big)], { msgtype: "m.text", body: "hi" })).toEqual({ verdict: "rewrite", content: { msgtype: "m.text", body: big } });
  });
});
