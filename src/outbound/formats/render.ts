import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import FormData from "form-data";
import type { EventFormat } from "./format-names.js";
import type { MediaDownloader } from "../../matrix/media-download.js";
import { MediaError, withoutKeyMaterial } from "../media/encrypted-file.js";
import { isMediaEvent, MEDIA_TYPE_NAMES, mediaOf, thumbnailOf } from "../media/media-content.js";
import { prepareMedia, type MediaLimits, type PreparedMedia } from "../media/prepare-media.js";
import { eventOnlyMultipart } from "./multipart-memory.js";

/** A request body ready to send: in memory (JSON, multipart without a file) or a file (with media). */
export type RenderedBody =
  | { kind: "memory"; body: string | Buffer; contentType: string }
  | { kind: "file"; path: string; size: number; contentType: string };

export interface Rendered {
  body: RenderedBody;
  /** Why the media is missing from the delivery, if it is (also in the JSON as media_error). */
  mediaError: string | null;
  cleanup(): Promise<void>;
}

export interface RenderOptions extends MediaLimits {
  includeThumbnail: boolean;
  /** Builds the short-lived link used by the `json` format; null when links are not available. */
  mediaLink: ((jobKey: number) => string) | null;
  /** The format of hooks whose state names none (`delivery.defaultFormat`). */
  defaultFormat: EventFormat;
}

type Event = { type: string; content: Record<string, unknown> } & Record<string, unknown>;

/**
 * Turns a stored event into the request body a hook's format asks for:
 * - hookshot (default): JSON; media events as multipart (`event` JSON part + `media` blob)
 * - hookshot-multipart: every event as multipart (Hookshot 7.x's encoding)
 * - json: always JSON; media as a short-lived link
 * A hook without a format gets `defaultFormat`. Media that cannot be fetched leaves the event
 * deliverable, with `media_error` in its JSON. Only a body with a file goes through a temp file.
 */
export class DeliveryRenderer {
  constructor(
    private readonly downloader: MediaDownloader,
    private readonly opts: RenderOptions,
  ) {}

  /**
   * The common case, without waiting: an event that cannot carry media goes out as the stored
   * JSON itself (or, in hookshot-multipart, as that JSON in an in-memory `event` part). Null when
   * `render` has work to do. `format` null: the hook names none.
   */
  plain(eventJson: string, format: EventFormat | null): Rendered | null {
    if (mayBeMedia(eventJson)) return null;
    return (format ?? this.opts.defaultFormat) === "hookshot-multipart" ? multipartInMemory(eventJson, null) : memory(eventJson);
  }

  /**
   * Whether the event must go in a request of its own when its hook batches (docs/batching.md):
   * every event in hookshot-multipart, media events in hookshot (multipart with the file). In
   * json every event is JSON (media as a link), so none has to.
   */
  sendsAlone(eventJson: string, hookFormat: EventFormat | null): boolean {
    const format = hookFormat ?? this.opts.defaultFormat;
    if (format === "hookshot-multipart") return true;
    if (format === "json" || !mayBeMedia(eventJson)) return false;
    try {
      const event = JSON.parse(eventJson) as Event;
      return isMediaEvent({ ...event, content: typeof event.content === "object" && event.content !== null ? event.content : {} });
    } catch {
      return true;
    }
  }

  async render(jobKey: number, eventJson: string, hookFormat: EventFormat | null): Promise<Rendered> {
    const plain = this.plain(eventJson, hookFormat);
    if (plain) return plain;
    const format = hookFormat ?? this.opts.defaultFormat;
    const event = JSON.parse(eventJson) as Event;
    const media = isMediaEvent(event);
    const receiverEvent: Event = media ? { ...event, content: withoutKeyMaterial(event.content) } : event;
    if (format === "json" || (format === "hookshot" && !media)) {
      if (media && format === "json" && this.opts.mediaLink) receiverEvent.media_url = this.opts.mediaLink(jobKey);
      return memory(media ? JSON.stringify(receiverEvent) : eventJson);
    }
    const parts: Array<{ name: string; file: PreparedMedia }> = [];
    let mediaError: { code: string; message: string } | null = null;
    try {
      const main = mediaOf(event);
      if (main) parts.push({ name: "media", file: await prepareMedia(main, this.downloader, this.opts) });
      const thumb = this.opts.includeThumbnail ? thumbnailOf(event) : null;
      if (thumb) parts.push({ name: "thumbnail", file: await prepareMedia(thumb, this.downloader, this.opts) });
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      mediaError = { code: err.code, message: err.message };
      receiverEvent.media_error = mediaError;
    }
    if (parts.length === 0) return multipartInMemory(media ? JSON.stringify(receiverEvent) : eventJson, mediaError?.message ?? null);
    const cleanupParts = () => Promise.all(parts.map((p) => p.file.cleanup())).then(() => undefined);
    try {
      const body = await this.multipart(receiverEvent, parts);
      return { body, mediaError: mediaError?.message ?? null, cleanup: async () => void (await Promise.all([cleanupParts(), rm(body.path, { force: true })])) };
    } catch (err) {
      await cleanupParts();
      throw err;
    }
  }

  /**
   * A body with files: encoded with the form-data package into a temp file, so the size is known
   * for the Content-Length and the signature, and memory stays flat: it streams each part with
   * backpressure (the platform's FormData over web streams read ahead and grew with the file).
   */
  private async multipart(event: Event, parts: Array<{ name: string; file: PreparedMedia }>): Promise<RenderedBody & { kind: "file" }> {
    const form = new FormData();
    form.append("event", JSON.stringify(event), { filename: "event.json", contentType: "application/json" });
    for (const part of parts) {
      form.append(part.name, createReadStream(part.file.path), { filename: part.file.filename, contentType: part.file.mimetype, knownLength: part.file.size });
    }
    const path = join(this.opts.tempDir, `multipart-${randomBytes(12).toString("hex")}`);
    try {
      await writeForm(form, path);
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return { kind: "file", path, size: (await stat(path)).size, contentType: form.getHeaders()["content-type"] as string };
  }
}

/** form-data is an old-style stream: `pipeline` can miss its end, `pipe` with events does not. */
function writeForm(form: FormData, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { mode: 0o600 });
    out.on("finish", resolve);
    out.on("error", reject);
    form.on("error", (err) => {
      out.destroy();
      reject(err);
    });
    form.pipe(out);
  });
}

const noCleanup = async (): Promise<void> => undefined;

function memory(body: string): Rendered {
  return { body: { kind: "memory", body, contentType: "application/json" }, mediaError: null, cleanup: noCleanup };
}

function multipartInMemory(eventJson: string, mediaError: string | null): Rendered {
  const { body, contentType } = eventOnlyMultipart(eventJson);
  return { body: { kind: "memory", body, contentType }, mediaError, cleanup: noCleanup };
}

// A media event's JSON contains its msgtype (or type) as a JSON string; these never need escaping.
const MEDIA_MARKER = new RegExp(`"(?:${MEDIA_TYPE_NAMES.map((name) => name.replaceAll(".", "\\.")).join("|")})"`);

/** False only when the event cannot be a media event; true may still be text that quotes one. */
function mayBeMedia(eventJson: string): boolean {
  return MEDIA_MARKER.test(eventJson);
}
