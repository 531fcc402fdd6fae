import type { EncryptedFileInfo } from "./encrypted-file.js";

/** Where an event's media is and what it claims to be. */
export interface MediaRef {
  mxc: string;
  /** Set when the media is an EncryptedFile (content.file / info.thumbnail_file). */
  encrypted: EncryptedFileInfo | null;
  filename: string;
  mimetype: string;
  declaredSize: number | null;
}

const MEDIA_MSGTYPES = new Set(["m.image", "m.file", "m.audio", "m.video"]);

/** Every msgtype or event type that makes an event a media event. */
export const MEDIA_TYPE_NAMES: readonly string[] = [...MEDIA_MSGTYPES, "m.sticker"];

type EventLike = { type: string; content: Record<string, unknown> };

/** True for m.image/m.file/m.audio/m.video messages and stickers. */
export function isMediaEvent(event: EventLike): boolean {
  return (event.type === "m.room.message" && MEDIA_MSGTYPES.has(String(event.content.msgtype))) || event.type === "m.sticker";
}

const info = (content: Record<string, unknown>): Record<string, unknown> =>
  content.info && typeof content.info === "object" ? (content.info as Record<string, unknown>) : {};

function ref(url: unknown, file: unknown, name: string, mimetype: unknown, size: unknown): MediaRef | null {
  const encrypted = file && typeof file === "object" ? (file as EncryptedFileInfo) : null;
  const mxc = encrypted ? encrypted.url : url;
  if (typeof mxc !== "string" || !mxc.startsWith("mxc://")) return null;
  return {
    mxc,
    encrypted,
    filename: name,
    mimetype: typeof mimetype === "string" && mimetype ? mimetype : "application/octet-stream",
    declaredSize: typeof size === "number" && Number.isFinite(size) && size >= 0 ? size : null,
  };
}

/** The main media of an event, or null when it has none (or no usable URL). */
export function mediaOf(event: EventLike): MediaRef | null {
  if (!isMediaEvent(event)) return null;
  const c = event.content;
  const name = safeFilename(typeof c.filename === "string" && c.filename ? c.filename : typeof c.body === "string" && c.body ? c.body : "media");
  return ref(c.url, c.file, name, info(c).mimetype, info(c).size);
}

/** The thumbnail of an image/video event, if it declares one. */
export function thumbnailOf(event: EventLike): MediaRef | null {
  if (!isMediaEvent(event)) return null;
  const i = info(event.content);
  const thumbInfo = (i.thumbnail_info && typeof i.thumbnail_info === "object" ? i.thumbnail_info : {}) as Record<string, unknown>;
  return ref(i.thumbnail_url, i.thumbnail_file, "thumbnail", thumbInfo.mimetype, thumbInfo.size);
}

/** A file name safe for a multipart header: no path, no control characters, bounded length. */
export function safeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base.replace(/[\p{Cc}"]/gu, "_").trim().slice(0, 200);
  return cleaned || "media";
}
