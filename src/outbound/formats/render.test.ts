import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import FormData from "form-data";
import { describe, expect, it } from "vitest";
import type { MediaDownloader } from "../../matrix/media-download.js";
import { eventOnlyMultipart } from "./multipart-memory.js";
import { DeliveryRenderer, type RenderOptions } from "./render.js";

// No media is fetched in these cases: a downloader that is called fails the test.
const downloader = new Proxy({}, { get: () => () => Promise.reject(new Error("no download expected")) }) as unknown as MediaDownloader;
// A temp dir that does not exist: only a body with a file may create it.
const tempDir = join(tmpdir(), `mwb-render-test-${process.pid}-${Date.now()}`);
const options: RenderOptions = { includeThumbnail: false, mediaLink: (key) => `https://bridge.example/_webhook-bridge/media/${key}?sig`, maxBytes: 1024, tempDir, defaultFormat: "hookshot" };
const renderer = new DeliveryRenderer(downloader, options);

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

/** The parts of an in-memory multipart body, read by the platform's own parser. */
async function formOf(body: { kind: string; body?: string | Buffer; contentType: string }): Promise<globalThis.FormData> {
  expect(body.kind).toBe("memory");
  expect(body.contentType).toMatch(/^multipart\/form-data; boundary=-+[0-9a-f]{24}$/);
  return new Response(body.body as Buffer, { headers: { "content-type": body.contentType } }).formData();
}

describe("hookshot-multipart without a file", () => {
  const text = json({ type: "m.room.message", event_id: "$m", content: { msgtype: "m.text", body: "multi\r\n--part é" } });

  it("encodes a text event in memory, at once, with the stored JSON as the event part", async () => {
    const rendered = renderer.plain(text, "hookshot-multipart");
    expect(rendered).not.toBeNull();
    const form = await formOf(rendered!.body);
    const part = form.get("event") as File;
    expect(part.name).toBe("event.json");
    expect(part.type).toBe("application/json");
    expect(await part.text()).toBe(text);
    expect([...form.keys()]).toEqual(["event"]);
    expect(existsSync(tempDir)).toBe(false);
  });

  it("writes the bytes the form-data package writes for the same part", () => {
    const { body, contentType } = eventOnlyMultipart(text);
    const boundary = contentType.split("boundary=")[1]!;
    const form = new FormData();
    form.setBoundary(boundary);
    form.append("event", text, { filename: "event.json", contentType: "application/json" });
    expect(body.equals(form.getBuffer())).toBe(true);
    expect(form.getHeaders()["content-type"]).toBe(contentType);
    expect(eventOnlyMultipart(text).contentType).not.toBe(contentType);
  });

  it("keeps a media event whose file could not be fetched in memory too, with media_error", async () => {
    const image = json({ type: "m.room.message", event_id: "$i", content: { msgtype: "m.image", body: "cat.png", url: "mxc://example.org/abc" } });
    const rendered = await renderer.render(3, image, "hookshot-multipart");
    expect(rendered.mediaError).toMatch(/no download expected/);
    const event = JSON.parse(await ((await formOf(rendered.body)).get("event") as File).text());
    expect(event.media_error).toMatchObject({ code: "download_failed" });
    expect(event.content.url).toBe("mxc://example.org/abc");
  });
});

describe("delivery.defaultFormat", () => {
  const text = json({ type: "m.room.message", event_id: "$d", content: { msgtype: "m.text", body: "hi" } });
  const multipartByDefault = new DeliveryRenderer(downloader, { ...options, defaultFormat: "hookshot-multipart" });

  it("applies to hooks whose state names no format", async () => {
    expect((await formOf(multipartByDefault.plain(text, null)!.body)).get("event")).toBeInstanceOf(File);
    expect((await multipartByDefault.render(1, text, null)).body.contentType).toMatch(/^multipart\/form-data/);
    expect(renderer.plain(text, null)!.body).toEqual({ kind: "memory", body: text, contentType: "application/json" });
  });

  it("never overrides a hook's own format", () => {
    expect(multipartByDefault.plain(text, "hookshot")!.body).toEqual({ kind: "memory", body: text, contentType: "application/json" });
    expect(multipartByDefault.plain(text, "json")!.body).toEqual({ kind: "memory", body: text, contentType: "application/json" });
  });
});
