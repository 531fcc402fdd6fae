import { describe, expect, it } from "vitest";
import { tencentMsgBody } from "./msg-body.js";
import { mediaUrl, messageEvent } from "./tencent-test-fixtures.js";

const body = (content: Record<string, unknown>, type = "m.room.message") => tencentMsgBody(messageEvent(content, { type }), mediaUrl);
const URL_OF = (id: string) => `https://bridge.example.org/media/${encodeURIComponent(`example.org/${id}`)}`;

describe("tencentMsgBody: text", () => {
  it("m.text, m.notice and m.emote are one TIMTextElem with the body (not the HTML)", () => {
    for (const msgtype of ["m.text", "m.notice", "m.emote"]) {
      expect(body({ msgtype, body: "red *packet*", format: "org.matrix.custom.html", formatted_body: "red <em>packet</em>" })).toEqual([{ MsgType: "TIMTextElem", MsgContent: { Text: "red *packet*" } }]);
    }
  });

  it("an edit is its new text", () => {
    const edit = { msgtype: "m.text", body: "* new", "m.new_content": { msgtype: "m.text", body: "new" }, "m.relates_to": { rel_type: "m.replace", event_id: "$a" } };
    expect(body(edit)).toEqual([{ MsgType: "TIMTextElem", MsgContent: { Text: "new" } }]);
    // m.new_content without m.replace is not an edit
    expect(body({ ...edit, "m.relates_to": { rel_type: "m.thread", event_id: "$a" } })).toEqual([{ MsgType: "TIMTextElem", MsgContent: { Text: "* new" } }]);
  });

  it("a missing or non-string body is an empty text; a huge one is kept whole", () => {
    expect(body({ msgtype: "m.text" })).toEqual([{ MsgType: "TIMTextElem", MsgContent: { Text: "" } }]);
    expect(body({ msgtype: "m.text", body: { not: "text" } })).toEqual([{ MsgType: "TIMTextElem", MsgContent: { Text: "" } }]);
    const huge = "x".repeat(2_000_000);
    expect(body({ msgtype: "m.text", body: huge })[0]!.MsgContent.Text).toBe(huge);
  });
});

describe("tencentMsgBody: media", () => {
  it("an image is a TIMImageElem: original, large (the original again) and thumbnail, with sizes from info", () => {
    const content = { msgtype: "m.image", body: "cat.png", url: "mxc://example.org/cat", info: { mimetype: "image/png", size: 1853095, w: 2448, h: 3264, thumbnail_url: "mxc://example.org/thumb", thumbnail_info: { mimetype: "image/jpeg", size: 12535, w: 198, h: 264 } } };
    expect(body(content)).toEqual([
      {
        MsgType: "TIMImageElem",
        MsgContent: {
          UUID: "mxc://example.org/cat",
          ImageFormat: 3,
          ImageInfoArray: [
            { Type: 1, Size: 1853095, Width: 2448, Height: 3264, URL: URL_OF("cat") },
            { Type: 2, Size: 1853095, Width: 2448, Height: 3264, URL: URL_OF("cat") },
            { Type: 3, Size: 12535, Width: 198, Height: 264, URL: URL_OF("thumb") },
          ],
        },
      },
    ]);
  });

  it("a sticker is an image; a captioned image gets its caption as text after it", () => {
    const [sticker] = body({ body: "wave", url: "mxc://example.org/wave", info: { mimetype: "image/gif" } }, "m.sticker");
    expect(sticker).toMatchObject({ MsgType: "TIMImageElem", MsgContent: { UUID: "mxc://example.org/wave", ImageFormat: 2 } });
    const captioned = body({ msgtype: "m.image", body: "look at this", filename: "cat.jpg", url: "mxc://example.org/cat", info: { mimetype: "image/jpeg" } });
    expect(captioned.map((e) => e.MsgType)).toEqual(["TIMImageElem", "TIMTextElem"]);
    expect(captioned[1]!.MsgContent).toEqual({ Text: "look at this" });
  });

  it("a file, an audio clip and a video use Tencent's field names", () => {
    expect(body({ msgtype: "m.file", body: "report.pdf", url: "mxc://example.org/pdf", info: { mimetype: "application/pdf", size: 1773552 } })).toEqual([
      { MsgType: "TIMFileElem", MsgContent: { Url: URL_OF("pdf"), UUID: "mxc://example.org/pdf", FileSize: 1773552, FileName: "report.pdf", Download_Flag: 2 } },
    ]);
    expect(body({ msgtype: "m.audio", body: "hi.ogg", url: "mxc://example.org/hi", info: { size: 62351, duration: 1400 } })).toEqual([
      { MsgType: "TIMSoundElem", MsgContent: { Url: URL_OF("hi"), UUID: "mxc://example.org/hi", Size: 62351, Second: 1, Download_Flag: 2 } },
    ]);
    expect(body({ msgtype: "m.video", body: "v.mp4", url: "mxc://example.org/v", info: { mimetype: "video/mp4", size: 1194603, duration: 5000, thumbnail_url: "mxc://example.org/vt", thumbnail_info: { mimetype: "image/jpeg", size: 13907, w: 720, h: 1280 } } })).toEqual([
      {
        MsgType: "TIMVideoFileElem",
        MsgContent: {
          VideoUrl: URL_OF("v"),
          VideoUUID: "mxc://example.org/v",
          VideoSize: 1194603,
          VideoSecond: 5,
          VideoFormat: "mp4",
          VideoDownloadFlag: 2,
          ThumbUrl: URL_OF("vt"),
          ThumbUUID: "mxc://example.org/vt",
          ThumbSize: 13907,
          ThumbWidth: 720,
          ThumbHeight: 1280,
          ThumbFormat: "JPEG",
          ThumbDownloadFlag: 2,
        },
      },
    ]);
  });

  it("odd info (strings, negatives, fractions) becomes zeros; no mediaUrl gives an empty URL", () => {
    const [image] = tencentMsgBody(messageEvent({ msgtype: "m.image", body: "x", url: "mxc://example.org/x", info: { size: "big", w: -1, h: 2.5 } }), () => null);
    expect(image!.MsgContent.ImageInfoArray).toEqual([
      { Type: 1, Size: 0, Width: 0, Height: 0, URL: "" },
      { Type: 2, Size: 0, Width: 0, Height: 0, URL: "" },
      { Type: 3, Size: 0, Width: 0, Height: 0, URL: "" },
    ]);
    expect(image!.MsgContent.ImageFormat).toBe(255);
  });

  it("ImageFormat follows the mimetype; an unknown or hostile one is 255", () => {
    const format = (mimetype: unknown) => body({ msgtype: "m.image", body: "x", url: "mxc://example.org/x", info: { mimetype } })[0]!.MsgContent.ImageFormat;
    expect([format("image/jpeg"), format("image/gif"), format("image/png"), format("image/bmp"), format("image/webp")]).toEqual([1, 2, 3, 4, 255]);
    expect([format("__proto__"), format("constructor"), format(42)]).toEqual([255, 255, 255]);
  });

  it("media whose URL is not mxc:// is a TIMCustomElem, its URL never fetched", () => {
    const content = { msgtype: "m.image", body: "evil", url: "https://evil.example/x.png" };
    expect(body(content)).toEqual([{ MsgType: "TIMCustomElem", MsgContent: { Data: JSON.stringify(content), Desc: "evil", Ext: "m.image", Sound: "" } }]);
  });

  it("an encrypted file keeps its mxc but its key never leaves", () => {
    const file = { url: "mxc://example.org/enc", key: { kty: "oct", alg: "A256CTR", key_ops: ["encrypt", "decrypt"], k: "secretkey", ext: true }, iv: "iv", hashes: { sha256: "h" }, v: "v2" };
    const elements = body({ msgtype: "m.file", body: "secret.txt", file });
    expect(elements[0]).toMatchObject({ MsgType: "TIMFileElem", MsgContent: { UUID: "mxc://example.org/enc" } });
    expect(JSON.stringify(elements)).not.toContain("secretkey");
  });
});

describe("tencentMsgBody: other messages", () => {
  it("a location is a TIMLocationElem; a bad geo URI falls back to a custom element", () => {
    expect(body({ msgtype: "m.location", body: "Vienna", geo_uri: "geo:48.2082,16.3738;u=35" })).toEqual([{ MsgType: "TIMLocationElem", MsgContent: { Desc: "Vienna", Latitude: 48.2082, Longitude: 16.3738 } }]);
    expect(body({ msgtype: "m.location", body: "nowhere", geo_uri: "geo:999,0" })[0]!.MsgType).toBe("TIMCustomElem");
    expect(body({ msgtype: "m.location", body: "nowhere", geo_uri: 5 })[0]!.MsgType).toBe("TIMCustomElem");
  });

  it("anything else is a TIMCustomElem: the content as JSON in Data, the body in Desc, the msgtype in Ext", () => {
    const content = { msgtype: "org.example.poll", body: "Lunch?", answers: ["yes", "no"] };
    expect(body(content)).toEqual([{ MsgType: "TIMCustomElem", MsgContent: { Data: JSON.stringify(content), Desc: "Lunch?", Ext: "org.example.poll", Sound: "" } }]);
    expect(body({ body: 3 })).toEqual([{ MsgType: "TIMCustomElem", MsgContent: { Data: '{"body":3}', Desc: "", Ext: "m.room.message", Sound: "" } }]);
  });

  it("deeply nested content does not overflow: past 64 levels values become null", () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const [element] = body({ msgtype: "org.example.deep", body: "deep", deep });
    expect(element!.MsgType).toBe("TIMCustomElem");
    expect(String(element!.MsgContent.Data)).toContain("null");
  });

  it("an encrypted message is a placeholder: no ciphertext", () => {
    const elements = tencentMsgBody(messageEvent({ algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEnAC", session_id: "s" }, { type: "m.room.encrypted" }), mediaUrl);
    expect(elements).toEqual([{ MsgType: "TIMCustomElem", MsgContent: { Data: "", Desc: "[encrypted message]", Ext: "m.room.encrypted", Sound: "" } }]);
  });
});
