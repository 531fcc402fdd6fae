import { CHAT_FORMAT_NAMES, type ChatFormatName } from "./chat/chat-format.js";

/**
 * How a hook's events are encoded (the `format` field of its state event; `delivery.defaultFormat`
 * for hooks that set none). What each one sends: src/outbound/formats/render.ts.
 */
export const OUTBOUND_FORMATS = ["hookshot", "hookshot-multipart", "json", ...CHAT_FORMAT_NAMES, "tencent"] as const;
export type OutboundFormat = (typeof OUTBOUND_FORMATS)[number];
/** The formats that send the Matrix event itself: the only ones `delivery.defaultFormat` may name. */
export const EVENT_FORMATS = ["hookshot", "hookshot-multipart", "json"] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

/** The format of hooks that name none, unless `delivery.defaultFormat` says otherwise. */
export const DEFAULT_OUTBOUND_FORMAT: EventFormat = "hookshot";

/** The chat platforms' formats: sent as their platform does, and their answers posted as replies. */
export function isChatFormat(format: OutboundFormat | null): format is ChatFormatName {
  return format !== null && (CHAT_FORMAT_NAMES as readonly string[]).includes(format);
}
