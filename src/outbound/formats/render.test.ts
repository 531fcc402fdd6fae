import { describe, expect, it } from "vitest";
import type { MediaDownloader } from "../../matrix/media-download.js";
import { DeliveryRenderer } from "./render.js";

// No media is fetched in these cases: a downloader that is called fails the test.
const downloader = new Proxy({}, { get: () => () => Promise.reject(new Error("no download expected")) }) as unknown as MediaDownloader;
const renderer = new DeliveryRenderer(downloader, { includeThumbnail: false, mediaLink: (key) => `https://bridge.example/_webhook-bridge/media/${key}?sig`, maxBytes: 1024, tempDir: "/tmp" });

const json = (event: object) => JSON.stringify(event);

describe("DeliveryRenderer without media", () => {
  it("sends a text event's stored JSON byte for byte", async () => {
    const stored = json({ type: "m.room.message", event_id: "$t", content: { msgtype: "m.text", body: "hello \\u00e9 \"quoted\"" } });
    const rendered = await renderer.render(7, stored, "hookshot");
    expect(rendered.body).toEqual({ kind: "memory", body: stored, contentType: "application/json" });
    expect((await renderer.render(7, stored, "json")).body).toEqual({ kind: "memory", body: stored, contentType: "application/json" });
  });

  it("still treats text that quotes a media msgtype as plain text", async () => {
    const stored = json({ type: "m.room.message", event_id: "$q", content: { msgtype: "m.text", body: 'set msgtype to "m.image"' } });
    const rendered = await renderer.render(7, stored, "hookshot");
    expect(rendered.body.kind).toBe("memory");
    expect(JSON.parse((rendered.body as { body: string }).body)).toEqual(JSON.parse(stored));
  });

  it("gives a media event in the json format a link named by the job key", async () => {
    const stored = json({ type: "m.room.message", event_id: "$i", content: { msgtype: "m.image", body: "cat.png", url: "mxc://example.org/abc" } });
    const rendered = await renderer.render(42, stored, "json");
    const sent = JSON.parse((rendered.body as { body: string }).body);
    expect(sent.media_url).toBe("https://bridge.example/_webhook-bridge/media/42?sig");
    expect(sent.content.url).toBe("mxc://example.org/abc");
  });
});
