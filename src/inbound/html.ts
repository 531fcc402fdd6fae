import { marked } from "marked";
import sanitizeHtml from "sanitize-html";

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** Longest markdown source rendered; a Matrix event cannot hold much more anyway (64 KiB). */
const MAX_MARKDOWN_CHARS = 40_000;

/** Markdown (GFM, single newlines kept) to HTML; not yet sanitized. A lone paragraph loses its <p>. */
export function markdownToHtml(markdown: string): string {
  const html = (marked.parse(markdown.slice(0, MAX_MARKDOWN_CHARS), { async: false, gfm: true, breaks: true }) as string).trim();
  const single = /^<p>([\s\S]*)<\/p>$/.exec(html);
  return single && !single[1]!.includes("<p>") ? single[1]! : html;
}

// What the Matrix spec lets clients render in formatted_body (m.room.message, HTML subset).
const MATRIX_TAGS = [
  "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub", "li", "b", "i", "u",
  "strong", "em", "s", "code", "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span",
  "img", "details", "summary",
];
const COLOURS = ["data-mx-bg-color", "data-mx-color"];

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: MATRIX_TAGS,
  allowedAttributes: {
    font: [...COLOURS, "color"],
    span: [...COLOURS, "data-mx-spoiler"],
    a: ["href", "target"],
    img: ["src", "alt", "title", "width", "height"],
    ol: ["start"],
    code: ["class"],
  },
  allowedClasses: { code: ["language-*"] },
  allowedSchemes: ["http", "https", "ftp", "mailto", "magnet", "matrix"],
  allowedSchemesByTag: { img: ["mxc"] },
  allowProtocolRelative: false,
  // Clients show only mxc:// images; any other image becomes a link to it.
  transformTags: {
    img: (tagName, attribs) => {
      const src = attribs.src ?? "";
      if (src.startsWith("mxc://")) return { tagName, attribs };
      return { tagName: "a", attribs: { href: src }, text: attribs.alt || attribs.title || src };
    },
  },
  disallowedTagsMode: "discard",
};

/** Reduces HTML to what Matrix allows: no scripts, styles, event handlers or dangerous URLs. */
export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE).trim();
}

/** A readable plain-text rendering of HTML, for `body` when a sender gives only `html`. */
export function htmlToText(html: string): string {
  const marked = html.replace(/<br\s*\/?>/gi, "\n").replace(/<\/(p|div|li|h[1-6]|tr|blockquote|pre)>/gi, "$&\n").replace(/<li[^>]*>/gi, "$&- ");
  const text = sanitizeHtml(marked, { allowedTags: [], allowedAttributes: {} });
  return decodeBasicEntities(text).replace(/\n{3,}/g, "\n\n").trim();
}

// A Map: the entity name is the sender's text, so no inherited property may answer for it.
const BASIC_ENTITIES = new Map([["amp", "&"], ["lt", "<"], ["gt", ">"], ["quot", '"'], ["#39", "'"], ["#x27", "'"], ["nbsp", " "]]);

/** Decodes the entities Slack and HTML-to-text produce; any other `&name;` stays as it is. */
export function decodeBasicEntities(s: string): string {
  return s.replace(/&(#?[A-Za-z0-9_]{1,30});/g, (m, e: string) => BASIC_ENTITIES.get(e) ?? m);
}
