/**
 * How a hook's events are encoded (the `format` field of its state event; `delivery.defaultFormat`
 * for hooks that set none). What each one sends: src/outbound/formats/render.ts.
 */
export const OUTBOUND_FORMATS = ["hookshot", "hookshot-multipart", "json"] as const;
export type OutboundFormat = (typeof OUTBOUND_FORMATS)[number];

/** The format of hooks that name none, unless `delivery.defaultFormat` says otherwise. */
export const DEFAULT_OUTBOUND_FORMAT: OutboundFormat = "hookshot";
