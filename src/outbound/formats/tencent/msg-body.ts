import { matrixSafe } from "../../../inbound/matrix-safe.js";
import type { RoomEvent } from "../../../matrix/port.js";
import { withoutKeyMaterial } from "../../media/encrypted-file.js";
import { mediaOf, thumbnailOf } from "../../media/media-content.js";

/**
 * A Matrix message as Tencent's MsgBody: an array of TIMMsgElement `{MsgType, MsgContent}`
 * ("Message Formats", https://www.tencentcloud.com/document/product/1047/33527). Pure, and total:
 * odd content (missing body, wrong types, non-mxc URLs) gives a TIMCustomElem or zeros, never an
 * exception. Media URLs come from the caller's `mediaUrl` (an mxc:// URI → a URL the receiver can
 * fetch, or null: then "").
 */
export interface TimElement {
  MsgType: string;
  MsgContent: Record<string, unknown>;
}

export type MediaUrl = (mxc: string) => string | null;

/** How deep a TIMCustomElem's copied content may nest (matrixSafe stops at 200; deeper values become null). */
const CUSTOM_DEPTH_START = 200 - 64;

/** The msgtypes sent (and rewritten) as text. */
export const TEXT_MSGTYPES: ReadonlySet<string> = new Set(["m.text", "m.notice", "m.emote"]);

export function tencentMsgBody(event: RoomEvent, mediaUrl: MediaUrl): TimElement[] {
  if (event.type === "m.room.encrypted") return [custom("", "[encrypted message]", "m.room.encrypted")];
  const content = shownContent(event.content);
  const msgtype = typeof content.msgtype === "string" ? content.msgtype : null;
  const body = typeof content.body === "string" ? content.body : "";
  if (event.type === "m.room.message" && msgtype !== null && TEXT_MSGTYPES.has(msgtype)) return [text(body)];
  const shown = { type: event.type, content };
  const media = mediaElement(shown, msgtype, mediaUrl);
  if (media) return captioned(media, content, body);
  if (msgtype === "m.location") {
    const place = location(content, body);
    if (place) return [place];
  }
  return [custom(JSON.stringify(matrixSafe(withoutKeyMaterial(content), CUSTOM_DEPTH_START)), body, msgtype ?? event.type)];
}

/** What the message shows: an edit (`m.replace`) shows its `m.new_content`. */
export function shownContent(c: Record<string, unknown>): Record<string, unknown> {
  const relation = objectField(c, "m.relates_to");
  const replacement = objectField(c, "m.new_content");
  return relation?.rel_type === "m.replace" && replacement ? replacement : c;
}

export const text = (value: string): TimElement => ({ MsgType: "TIMTextElem", MsgContent: { Text: value } });

const custom = (data: string, desc: string, ext: string): TimElement => ({ MsgType: "TIMCustomElem", MsgContent: { Data: data, Desc: desc, Ext: ext, Sound: "" } });

type Shown = { type: string; content: Record<string, unknown> };

function mediaElement(shown: Shown, msgtype: string | null, mediaUrl: MediaUrl): TimElement | null {
  const media = mediaOf(shown);
  if (!media) return null;
  const info = objectField(shown.content, "info") ?? {};
  const url = mediaUrl(media.mxc) ?? "";
  const size = count(media.declaredSize);
  const thumb = thumbnailOf(shown);
  const thumbInfo = objectField(info, "thumbnail_info") ?? {};
  const thumbnail = { url: thumb ? (mediaUrl(thumb.mxc) ?? "") : "", uuid: thumb?.mxc ?? "", size: count(thumb?.declaredSize), w: count(thumbInfo.w), h: count(thumbInfo.h), mimetype: thumb?.mimetype ?? "" };
  if (shown.type === "m.sticker" || msgtype === "m.image") {
    const original = { Size: size, Width: count(info.w), Height: count(info.h), URL: url };
    // Tencent always lists three: original (1), large (2), thumbnail (3). Matrix has no "large": the original serves.
    const small = thumb ? { Size: thumbnail.size, Width: thumbnail.w, Height: thumbnail.h, URL: thumbnail.url } : original;
    return {
      MsgType: "TIMImageElem",
      MsgContent: { UUID: media.mxc, ImageFormat: imageFormat(media.mimetype), ImageInfoArray: [{ Type: 1, ...original }, { Type: 2, ...original }, { Type: 3, ...small }] },
    };
  }
  if (msgtype === "m.file") return { MsgType: "TIMFileElem", MsgContent: { Url: url, UUID: media.mxc, FileSize: size, FileName: media.filename, Download_Flag: 2 } };
  if (msgtype === "m.audio") return { MsgType: "TIMSoundElem", MsgContent: { Url: url, UUID: media.mxc, Size: size, Second: seconds(info.duration), Download_Flag: 2 } };
  return {
    MsgType: "TIMVideoFileElem",
    MsgContent: {
      VideoUrl: url,
      VideoUUID: media.mxc,
      VideoSize: size,
      VideoSecond: seconds(info.duration),
      VideoFormat: subtype(media.mimetype),
      VideoDownloadFlag: 2,
      ThumbUrl: thumbnail.url,
      ThumbUUID: thumbnail.uuid,
      ThumbSize: thumbnail.size,
      ThumbWidth: thumbnail.w,
      ThumbHeight: thumbnail.h,
      ThumbFormat: thumbnail.mimetype ? subtype(thumbnail.mimetype).toUpperCase() : "",
      ThumbDownloadFlag: 2,
    },
  };
}

/** A media message with a caption (Matrix 1.10: `filename` set and a `body` that differs) gets the caption as text after it. */
function captioned(media: TimElement, content: Record<string, unknown>, body: string): TimElement[] {
  const filename = typeof content.filename === "string" ? content.filename : null;
  return filename !== null && body !== "" && body !== filename ? [media, text(body)] : [media];
}

/** `geo:48.2,16.3;u=35` → TIMLocationElem; null when the URI gives no latitude and longitude in range. */
function location(content: Record<string, unknown>, body: string): TimElement | null {
  const uri = typeof content.geo_uri === "string" ? content.geo_uri : "";
  const m = /^geo:(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)(?:[,;]|$)/i.exec(uri);
  if (!m) return null;
  const [latitude, longitude] = [Number(m[1]), Number(m[2])];
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  return { MsgType: "TIMLocationElem", MsgContent: { Desc: body, Latitude: latitude, Longitude: longitude } };
}

/** Tencent's ImageFormat: JPG 1, GIF 2, PNG 3, BMP 4, others 255. */
const IMAGE_FORMATS: ReadonlyMap<string, number> = new Map([
  ["image/jpeg", 1],
  ["image/jpg", 1],
  ["image/gif", 2],
  ["image/png", 3],
  ["image/bmp", 4],
]);
const imageFormat = (mimetype: string): number => IMAGE_FORMATS.get(mimetype) ?? 255;

/** "video/mp4" → "mp4"; "" for none. */
const subtype = (mimetype: string): string => /^[\w.+-]+\/([\w.+-]+)/.exec(mimetype)?.[1] ?? "";

/** A non-negative safe integer (sizes, pixels), else 0. */
const count = (v: unknown): number => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);

/** Matrix's duration in milliseconds → whole seconds (rounded), else 0. */
const seconds = (ms: unknown): number => (typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? Math.min(Math.round(ms / 1000), Number.MAX_SAFE_INTEGER) : 0);

function objectField(o: Record<string, unknown>, key: string): Record<string, unknown> | null {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
