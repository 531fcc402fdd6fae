import type { BeforeSendVerdict } from "./answer.js";
import { shownContent, tencentMsgBody, TEXT_MSGTYPES, type TimElement } from "./msg-body.js";

/**
 * A before-send answer's MsgBody back into Matrix content. The bridge posts text only: the
 * TIMTextElem texts joined make the new body; TIMCustomElem elements (Tencent's example adds one
 * to carry e.g. a member level) ride along, invisible, under CUSTOM_ELEMENTS_KEY. Any other element
 * (image, file, sound, video, location, face) would need media the bridge does not have, so such a
 * rewrite refuses the message rather than send what the hook did not approve. A MsgBody equal to
 * what was sent is no rewrite.
 */
export const CUSTOM_ELEMENTS_KEY = "dev.matrix-webhook-bridge.tencent_custom_elems";

export function rewrittenContent(msgBody: unknown[], original: Record<string, unknown>): BeforeSendVerdict {
  const refuse = (why: string): BeforeSendVerdict => ({ verdict: "reject", reason: `The room's moderation hook answered with a rewrite the bridge cannot post (${why}).` });
  const elements = msgBody.map(element);
  if (elements.some((e) => e === null)) return refuse("MsgBody holds an element that is not {MsgType, MsgContent}");
  const els = elements as TimElement[];
  if (sameElements(els, sentElements(original))) return { verdict: "allow" };
  if (els.length === 0) return refuse("MsgBody is empty");
  const others = [...new Set(els.map((e) => e.MsgType).filter((t) => t !== "TIMTextElem" && t !== "TIMCustomElem"))];
  if (others.length > 0) return refuse(`only TIMTextElem and TIMCustomElem are supported, not ${others.slice(0, 5).join(", ")}`);
  const texts = els.filter((e) => e.MsgType === "TIMTextElem").map((e) => e.MsgContent.Text);
  if (texts.length === 0) return refuse("MsgBody has no TIMTextElem");
  if (texts.some((t) => typeof t !== "string")) return refuse("a TIMTextElem's Text is not a string");
  const customs = els.filter((e) => e.MsgType === "TIMCustomElem").map((e) => customElement(e.MsgContent));
  if (customs.some((c) => c === null)) return refuse("a TIMCustomElem's Data, Desc or Ext is not a string");
  if (typeof original.msgtype !== "string") return refuse("only messages with a msgtype can become text, not stickers");
  return { verdict: "rewrite", content: matrixContent((texts as string[]).join(""), customs as Record<string, string>[], original) };
}

/**
 * The new content: a fresh message with the hook's text (no formatted_body, which would still
 * show the old text, no media, no mentions the new text may not contain), the original's msgtype
 * when it was text (else m.text) and its m.relates_to (thread, reply). An edit stays an edit.
 */
function matrixContent(text: string, customs: Record<string, string>[], original: Record<string, unknown>): Record<string, unknown> {
  const shown = shownContent(original);
  const shownType = typeof shown.msgtype === "string" && TEXT_MSGTYPES.has(shown.msgtype) ? shown.msgtype : "m.text";
  const extra = customs.length > 0 ? { [CUSTOM_ELEMENTS_KEY]: customs } : {};
  const relation = Object.hasOwn(original, "m.relates_to") ? original["m.relates_to"] : undefined;
  const base = { msgtype: shownType, body: text, ...extra };
  if (shown !== original) return { msgtype: shownType, body: `* ${text}`, "m.new_content": base, "m.relates_to": relation };
  return relation === undefined ? base : { ...base, "m.relates_to": relation };
}

/** What the bridge sent for this content, to tell an echo from a rewrite (URLs left out: media is named by its UUID, the mxc URI). */
function sentElements(original: Record<string, unknown>): TimElement[] {
  const type = typeof original.msgtype === "string" ? "m.room.message" : "m.sticker";
  return tencentMsgBody({ event_id: "", room_id: "", sender: "", type, content: original, origin_server_ts: 0 }, () => null);
}

function sameElements(a: TimElement[], b: TimElement[]): boolean {
  return a.length === b.length && a.every((e, i) => identity(e) === identity(b[i]!));
}

/** An element's identity: what a receiver would change to rewrite it (not the URLs it was given). */
function identity(e: TimElement): string {
  const c = e.MsgContent;
  switch (e.MsgType) {
    case "TIMTextElem":
      return JSON.stringify([e.MsgType, c.Text]);
    case "TIMImageElem":
    case "TIMFileElem":
    case "TIMSoundElem":
      return JSON.stringify([e.MsgType, c.UUID]);
    case "TIMVideoFileElem":
      return JSON.stringify([e.MsgType, c.VideoUUID]);
    case "TIMCustomElem":
      return JSON.stringify([e.MsgType, c.Data, c.Desc, c.Ext]);
    default:
      return JSON.stringify([e.MsgType, c]);
  }
}

function element(value: unknown): TimElement | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  const type = Object.hasOwn(o, "MsgType") ? o.MsgType : undefined;
  const content = Object.hasOwn(o, "MsgContent") ? o.MsgContent : undefined;
  if (typeof type !== "string" || !content || typeof content !== "object" || Array.isArray(content)) return null;
  return { MsgType: type, MsgContent: content as Record<string, unknown> };
}

function customElement(c: Record<string, unknown>): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const key of ["Data", "Desc", "Ext"]) {
    const v = Object.hasOwn(c, key) ? c[key] : "";
    if (typeof v !== "string") return null;
    out[key] = v;
  }
  return out;
}
