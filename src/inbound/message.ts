import type { InboundMsgtype } from "../connections/inbound-hook-state.js";
import { escapeHtml } from "./html.js";

/** What a payload says to post, before identity and size limits are applied. HTML is sanitized later. */
export interface InboundMessage {
  text: string;
  html: string | null;
  msgtype?: InboundMsgtype;
  /** Per-message display name and avatar (used only when inbound.allowIdentityOverride is on). */
  username?: string;
  avatarUrl?: string;
}

/** Plain text and its HTML side by side, for renderers that build both at once. */
export interface Rich {
  text: string;
  html: string;
}

export const plain = (s: string): Rich => ({ text: s, html: escapeHtml(s) });

/** Plain text whose line breaks survive in HTML. */
export const multiline = (s: string): Rich => ({ text: s, html: escapeHtml(s).replace(/\r?\n/g, "<br>") });

export const link = (url: string, label?: string): Rich => {
  const shown = label && label !== url ? label : url;
  return { text: label && label !== url ? `${label} (${url})` : url, html: `<a href="${escapeHtml(url)}">${escapeHtml(shown)}</a>` };
};

export const bold = (r: Rich): Rich => ({ text: r.text, html: `<strong>${r.html}</strong>` });
export const code = (s: string): Rich => ({ text: `\`${s}\``, html: `<code>${escapeHtml(s)}</code>` });

export function concat(...parts: Array<Rich | string>): Rich {
  const rich = parts.map((p) => (typeof p === "string" ? plain(p) : p));
  return { text: rich.map((r) => r.text).join(""), html: rich.map((r) => r.html).join("") };
}

/** Lines of a message: text joined by newlines, HTML by <br> (block elements bring their own breaks). */
export function lines(parts: Rich[]): Rich {
  const kept = parts.filter((p) => p.text.length > 0 || p.html.length > 0);
  return {
    text: kept.map((p) => p.text).join("\n"),
    html: kept.map((p, i) => (i > 0 && !/^<(blockquote|pre|ul|ol|hr|h\d|p|table|div)/.test(p.html) && !/<\/(blockquote|pre|ul|ol|h\d|p|table|div)>$|<hr>$/.test(kept[i - 1]!.html) ? "<br>" : "") + p.html).join(""),
  };
}

export const quote = (r: Rich): Rich => ({ text: r.text.split("\n").map((l) => `> ${l}`).join("\n"), html: `<blockquote>${r.html}</blockquote>` });

export function bullets(items: Rich[]): Rich {
  return { text: items.map((i) => `- ${i.text}`).join("\n"), html: `<ul>${items.map((i) => `<li>${i.html}</li>`).join("")}</ul>` };
}

/** First line of a text, cut to `max` characters with an ellipsis. */
export function excerpt(s: string, max: number): string {
  const one = s.replace(/\r\n?/g, "\n").trim();
  return one.length <= max ? one : `${one.slice(0, max - 1).trimEnd()}…`;
}

export const toMessage = (r: Rich): InboundMessage => ({ text: r.text, html: r.html });
