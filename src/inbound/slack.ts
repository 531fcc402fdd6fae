import { badRequest } from "./errors.js";
import { markdownToHtml } from "./html.js";
import { bold, bullets, concat, lines, link, plain, quote, type InboundMessage, type Rich } from "./message.js";
import { mrkdwn } from "./slack-mrkdwn.js";

const MAX_BLOCKS = 50;
const MAX_ITEMS = 100;
const MAX_ATTACHMENTS = 20;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim().length > 0 ? v : undefined);
const list = (v: unknown, max: number): Obj[] => (Array.isArray(v) ? v.slice(0, max).map(obj).filter((o): o is Obj => o !== null) : []);

/**
 * A Slack incoming-webhook payload: `blocks` when present (Slack shows those, `text` is then only
 * the notification), else `text`; then `attachments`. `username`/`icon_url` are the per-message identity.
 */
export function slackMessage(payload: unknown): InboundMessage {
  const o = obj(payload);
  if (!o) throw badRequest("a Slack payload must be a JSON object");
  const parts: Rich[] = [];
  const blocks = renderBlocks(o.blocks);
  const text = str(o.text);
  if (blocks.length > 0) parts.push(...blocks);
  else if (text) parts.push(o.mrkdwn === false ? plain(text) : mrkdwn(text));
  for (const a of list(o.attachments, MAX_ATTACHMENTS)) {
    const rendered = attachment(a);
    if (rendered) parts.push(rendered);
  }
  if (parts.length === 0) throw badRequest("the Slack payload has no text, blocks or attachments");
  const r = lines(parts);
  return {
    text: r.text,
    html: r.html,
    ...(str(o.username) ? { username: str(o.username)!.trim() } : {}),
    ...(str(o.icon_url) ? { avatarUrl: str(o.icon_url)!.trim() } : {}),
  };
}

function textObject(v: unknown): Rich | null {
  const t = obj(v);
  const text = str(t?.text);
  if (!t || !text) return typeof v === "string" && v.trim() ? mrkdwn(v) : null;
  return t.type === "plain_text" ? plain(text) : mrkdwn(text);
}

function renderBlocks(v: unknown): Rich[] {
  return list(v, MAX_BLOCKS).map(block).filter((r): r is Rich => r !== null && r.text.length > 0);
}

function block(b: Obj): Rich | null {
  switch (b.type) {
    case "section": {
      const fields = Array.isArray(b.fields) ? b.fields.slice(0, MAX_ITEMS).map(textObject) : [];
      const accessory = obj(b.accessory);
      const button = accessory?.type === "button" ? button_(accessory) : null;
      return nonEmpty([textObject(b.text), ...fields, button]);
    }
    case "header": {
      const t = textObject(b.text);
      return t ? { text: t.text, html: `<h4>${t.html}</h4>` } : null;
    }
    case "context":
      return joined(list(b.elements, MAX_ITEMS).map((e) => (e.type === "image" ? (str(e.alt_text) ? plain(e.alt_text as string) : null) : textObject(e))), " · ");
    case "divider":
      return { text: "---", html: "<hr>" };
    case "image": {
      const url = str(b.image_url);
      const title = textObject(b.title);
      return nonEmpty([title, url ? link(url, str(b.alt_text)) : null]);
    }
    case "actions":
      return joined(list(b.elements, MAX_ITEMS).map((e) => (e.type === "button" ? button_(e) : null)), " | ");
    case "rich_text":
      return nonEmpty(list(b.elements, MAX_ITEMS).map(richElement));
    case "markdown": {
      const text = str(b.text);
      return text ? { text, html: markdownToHtml(text) } : null;
    }
    default:
      return null;
  }
}

function button_(e: Obj): Rich | null {
  const label = textObject(e.text)?.text ?? str(e.value);
  const url = str(e.url);
  if (url) return link(url, label);
  return label ? plain(`[${label}]`) : null;
}

function richElement(e: Obj): Rich | null {
  const inline = () => concat(...list(e.elements, MAX_ITEMS).map(richInline));
  switch (e.type) {
    case "rich_text_section":
      return inline();
    case "rich_text_quote":
      return quote(inline());
    case "rich_text_preformatted": {
      const code = inline().text;
      return { text: `\`\`\`\n${code}\n\`\`\``, html: `<pre><code>${plain(code).html}</code></pre>` };
    }
    case "rich_text_list": {
      const items = list(e.elements, MAX_ITEMS).map((item) => concat(...list(item.elements, MAX_ITEMS).map(richInline)));
      const ul = bullets(items);
      return e.style === "ordered" ? { text: items.map((i, n) => `${n + 1}. ${i.text}`).join("\n"), html: ul.html.replace(/^<ul>|<\/ul>$/g, (t) => t.replace("ul", "ol")) } : ul;
    }
    default:
      return null;
  }
}

function richInline(e: Obj): Rich {
  switch (e.type) {
    case "text": {
      const text = typeof e.text === "string" ? e.text : "";
      const style = obj(e.style) ?? {};
      if (style.code === true) return { text: `\`${text}\``, html: `<code>${plain(text).html}</code>` };
      let r = plain(text);
      if (style.bold === true) r = bold(r);
      if (style.italic === true) r = { text: r.text, html: `<em>${r.html}</em>` };
      if (style.strike === true) r = { text: r.text, html: `<del>${r.html}</del>` };
      return r;
    }
    case "link":
      return typeof e.url === "string" && /^(https?:|mailto:)/i.test(e.url) ? link(e.url, str(e.text)) : plain(str(e.text) ?? "");
    case "emoji":
      return plain(typeof e.unicode === "string" && /^[0-9a-f]{2,6}(-[0-9a-f]{2,6})*$/i.test(e.unicode)
        ? String.fromCodePoint(...e.unicode.split("-").map((h) => parseInt(h, 16)).filter((c) => c <= 0x10ffff))
        : `:${str(e.name) ?? "emoji"}:`);
    case "user":
      return plain(`@${str(e.user_id) ?? "someone"}`);
    case "channel":
      return plain(`#${str(e.channel_id) ?? "channel"}`);
    case "usergroup":
      return plain(`@${str(e.usergroup_id) ?? "group"}`);
    case "broadcast":
      return plain(`@${str(e.range) ?? "here"}`);
    case "date":
      return plain(str(e.fallback) ?? "");
    default:
      return plain("");
  }
}

function attachment(a: Obj): Rich | null {
  const author = str(a.author_name);
  const title = str(a.title);
  const inner = [
    author ? (str(a.author_link) ? link(a.author_link as string, author) : plain(author)) : null,
    title ? bold(str(a.title_link) ? link(a.title_link as string, title) : plain(title)) : null,
    str(a.text) ? mrkdwn(a.text as string) : null,
    ...list(a.fields, MAX_ITEMS).map((f) => {
      const value = str(f.value) ? mrkdwn(f.value as string) : null;
      return str(f.title) ? concat(bold(plain(`${f.title as string}:`)), " ", value ?? plain("")) : value;
    }),
    str(a.image_url) ? link(a.image_url as string) : null,
    ...renderBlocks(a.blocks),
    str(a.footer) ? plain(a.footer as string) : null,
  ].filter((r): r is Rich => r !== null && r.text.length > 0);
  if (inner.length === 0 && str(a.fallback)) inner.push(plain(a.fallback as string));
  const pretext = str(a.pretext) ? mrkdwn(a.pretext as string) : null;
  if (inner.length === 0) return pretext;
  return lines([...(pretext ? [pretext] : []), quote(lines(inner))]);
}

function nonEmpty(parts: Array<Rich | null>): Rich | null {
  const kept = parts.filter((r): r is Rich => r !== null && r.text.length > 0);
  return kept.length > 0 ? lines(kept) : null;
}

function joined(parts: Array<Rich | null>, sep: string): Rich | null {
  const kept = parts.filter((r): r is Rich => r !== null && r.text.length > 0);
  if (kept.length === 0) return null;
  return { text: kept.map((r) => r.text).join(sep), html: kept.map((r) => r.html).join(plain(sep).html) };
}
