import { decodeBasicEntities, escapeHtml } from "./html.js";
import { link, plain, type Rich } from "./message.js";

// Private-use characters mark where an already-rendered piece goes back in (removed from input first).
const OPEN = "\uE000";
const CLOSE = "\uE001";
const MAX_CHARS = 40_000;

/**
 * Slack's mrkdwn (`*bold*`, `_italic_`, `~strike~`, code, `> quote`, `<url|label>`, `<@U1>`,
 * `<!here>`) to readable text and HTML. Slack escapes &, < and > in text; they are decoded here.
 * Every pattern scans each span once, so a hostile megabyte of asterisks stays linear.
 */
export function mrkdwn(input: string): Rich {
  const held: Rich[] = [];
  const hold = (r: Rich) => `${OPEN}${held.push(r) - 1}${CLOSE}`;
  let s = input.slice(0, MAX_CHARS).replace(/[\uE000\uE001]/g, "");
  s = s.replace(/```([\s\S]*?)```/g, (_m, body: string) => {
    const code = decodeBasicEntities(body).replace(/^\n|\n$/g, "");
    return hold({ text: `\`\`\`\n${code}\n\`\`\``, html: `<pre><code>${escapeHtml(code)}</code></pre>` });
  });
  s = s.replace(/`([^`\n]+)`/g, (_m, body: string) => {
    const code = decodeBasicEntities(body);
    return hold({ text: `\`${code}\``, html: `<code>${escapeHtml(code)}</code>` });
  });
  s = s.replace(/<([^<>\n]{1,2000})>/g, (_m, inner: string) => hold(token(inner)));

  const text = restore(decodeBasicEntities(s), held, "text");
  let html = escapeHtml(decodeBasicEntities(s));
  html = html.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, "$1<strong>$2</strong>");
  html = html.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1<em>$2</em>");
  html = html.replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?!\w)/g, "$1<del>$2</del>");
  html = quotes(html).replace(/\n/g, "<br>");
  return { text, html: restore(html, held, "html") };
}

/** A `<…>` token: link, user, channel or broadcast mention. */
function token(inner: string): Rich {
  const bar = inner.indexOf("|");
  const target = decodeBasicEntities(bar < 0 ? inner : inner.slice(0, bar));
  const label = bar < 0 ? undefined : decodeBasicEntities(inner.slice(bar + 1));
  if (target.startsWith("!")) {
    const name = target.slice(1).split("^")[0]!;
    return plain(label ?? `@${name}`);
  }
  if (target.startsWith("@")) return plain(label ? `@${label.replace(/^@/, "")}` : target);
  if (target.startsWith("#")) return plain(label ? `#${label.replace(/^#/, "")}` : target);
  if (/^(https?:\/\/|mailto:)/i.test(target)) return link(target, label);
  return plain(label ?? target);
}

/** Consecutive lines starting with "> " become one blockquote. */
function quotes(html: string): string {
  const out: string[] = [];
  let quoted: string[] = [];
  const flush = () => {
    if (quoted.length > 0) out.push(`<blockquote>${quoted.join("<br>")}</blockquote>`);
    quoted = [];
  };
  for (const line of html.split("\n")) {
    const m = /^&gt; ?(.*)$/.exec(line);
    if (m) quoted.push(m[1]!);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out.join("\n").replace(/<\/blockquote>\n/g, "</blockquote>");
}

function restore(s: string, held: Rich[], side: "text" | "html"): string {
  return s.replace(/\uE000(\d+)\uE001/g, (_m, i: string) => held[Number(i)]?.[side] ?? "");
}
