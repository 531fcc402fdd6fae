import { describe, expect, it } from "vitest";
import { isMediaEvent, mediaOf, safeFilename, thumbnailOf } from "./media-content.js";

const image = {
  type: "m.room.message",
  content: { msgtype: "m.image", body: "cat.png", url: "mxc://hs/abc", info: { mimetype: "image/png", size: 1234, thumbnail_url: "mxc://hs/thumb", thumbnail_info: { mimetype: "image/jpeg", size: 99 } } },
};

describe("media references", () => {
  it("finds the media of image, file, audio, video and sticker events", () => {
    expect(mediaOf(image)).toEqual({ mxc: "mxc://hs/abc", encrypted: null, filename: "cat.png", mimetype: "image/png", declaredSize: 1234 });
    for (const msgtype of ["m.file", "m.audio", "m.video"]) expect(isMediaEvent({ type: "m.room.message", content: { msgtype } })).toBe(true);
    expect(mediaOf({ type: "m.sticker", content: { body: "wave", url: "mxc://hs/s", info: {} } })?.mimetype).toBe("application/octet-stream");
    expect(mediaOf({ type: "m.room.message", content: { msgtype: "m.text", body: "hi" } })).toBeNull();
  });

  it("prefers content.filename and an EncryptedFile's url", () => {
    const file = { url: "mxc://hs/enc", v: "v2" };
    const ref = mediaOf({ type: "m.room.message", content: { msgtype: "m.file", body: "caption", filename: "report.pdf", file } });
    expect(ref).toMatchObject({ mxc: "mxc://hs/enc", filename: "report.pdf", encrypted: file });
  });

  it("ignores unusable URLs and sizes", () => {
    expect(mediaOf({ type: "m.room.message", content: { msgtype: "m.image", url: "https://x/y" } })).toBeNull();
    expect(mediaOf({ type: "m.room.message", content: { msgtype: "m.image", url: "mxc://a/b", info: { size: -1 } } })?.declaredSize).toBeNull();
  });

  it("finds thumbnails", () => {
    expect(thumbnailOf(image)).toMatchObject({ mxc: "mxc://hs/thumb", mimetype: "image/jpeg", declaredSize: 99 });
  });

  it("makes file names safe for headers", () => {
    expect(safeFilename('../../etc/pa"ss\nwd')).toBe("pa_ss_wd");
    expect(safeFilename("")).toBe("media");
  });
});

describe("msgtypes and event types named like Object.prototype's properties", () => {
  const names = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"])];
  it.each(names)("%s makes no media event", (name) => {
    expect(isMediaEvent({ type: "m.room.message", content: { msgtype: name, url: "mxc://hs/abc" } })).toBe(false);
    expect(isMediaEvent({ type: name, content: { url: "mxc://hs/abc" } })).toBe(false);
    expect(mediaOf({ type: "m.room.message", content: JSON.parse(`{"msgtype":"m.image","url":"mxc://hs/abc",${JSON.stringify(name)}:1}`) })?.mxc).toBe("mxc://hs/abc");
  });
});
