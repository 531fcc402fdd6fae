import { escapeHtml, markdownToHtml } from "../html.js";
import { lines, type Rich } from "../message.js";
import type { DiscordEmbed, DiscordEmbedField } from "./payload.js";

/** Discord markdown is close to CommonMark: the text stays as sent, the HTML comes from the markdown renderer (sanitized later). */
export const discordMarkdown = (s: string): Rich => ({ text: s, html: markdownToHtml(s) });

const hex = (color: number) => `#${color.toString(16).padStart(6, "0")}`;
const anchor = (url: string, label: string) => `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
const withUrl = (label: string, url: string | undefined) => (url ? `${label} (${url})` : label);

/**
 * One embed as a quoted block: author, title (a link when it has a url), description, fields
 * (inline ones side by side in a table row, others one below the other), image and thumbnail as
 * links, footer and time. The colour shows as a coloured bar before the first line.
 */
export function renderEmbed(embed: DiscordEmbed): Rich {
  const parts: Rich[] = [];
  if (embed.author) {
    const a = embed.author;
    parts.push({ text: withUrl(a.name, a.url), html: `<strong>${a.url ? anchor(a.url, a.name) : escapeHtml(a.name)}</strong>` });
  }
  if (embed.title !== undefined) {
    parts.push({ text: withUrl(embed.title, embed.url), html: `<strong>${embed.url ? anchor(embed.url, embed.title) : escapeHtml(embed.title)}</strong>` });
  } else if (embed.url) parts.push({ text: embed.url, html: anchor(embed.url, embed.url) });
  if (embed.description !== undefined) parts.push(discordMarkdown(embed.description));
  parts.push(...renderFields(embed.fields));
  if (embed.image) parts.push({ text: `Image: ${embed.image.url}`, html: `Image: ${anchor(embed.image.url, embed.image.url)}` });
  if (embed.thumbnail) parts.push({ text: `Thumbnail: ${embed.thumbnail.url}`, html: `Thumbnail: ${anchor(embed.thumbnail.url, embed.thumbnail.url)}` });
  const foot = [embed.footer?.text, embed.timestamp ? shownTime(embed.timestamp) : undefined].filter((p): p is string => p !== undefined);
  if (foot.length > 0) parts.push({ text: foot.join(" • "), html: `<sub>${escapeHtml(foot.join(" • "))}</sub>` });
  if (parts.length === 0) return { text: "", html: "" };
  const body = lines(parts);
  const bar = embed.color !== undefined ? `<font data-mx-color="${hex(embed.color)}" color="${hex(embed.color)}">▌</font>` : "";
  return {
    text: body.text.split("\n").map((l) => `> ${l}`).join("\n"),
    html: `<blockquote>${bar}${body.html}</blockquote>`,
  };
}

/** Consecutive inline fields share a table row (as Discord shows them side by side); the rest stand alone. */
export function renderFields(fields: readonly DiscordEmbedField[]): Rich[] {
  const out: Rich[] = [];
  for (let i = 0; i < fields.length; ) {
    const field = fields[i]!;
    if (!field.inline) {
      const value = discordMarkdown(field.value);
      out.push({ text: `${field.name}: ${field.value}`, html: `<strong>${escapeHtml(field.name)}</strong><br>${value.html}` });
      i++;
      continue;
    }
    let end = i;
    while (end < fields.length && fields[end]!.inline && end - i < 3) end++;
    const row = fields.slice(i, end);
    out.push({
      text: row.map((f) => `${f.name}: ${f.value}`).join(" | "),
      html: `<table><thead><tr>${row.map((f) => `<th>${escapeHtml(f.name)}</th>`).join("")}</tr></thead><tbody><tr>${row.map((f) => `<td>${discordMarkdown(f.value).html}</td>`).join("")}</tr></tbody></table>`,
    });
    i = end;
  }
  return out;
}

/** An embed's timestamp, shown in UTC without milliseconds ("2026-12-02 07:30 UTC"). */
export function shownTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The message's text and HTML: the content (markdown), then each embed. */
export function renderDiscordMessage(content: string | null | undefined, embeds: readonly DiscordEmbed[]): Rich {
  const parts: Rich[] = [];
  if (content && content.trim() !== "") parts.push(discordMarkdown(content));
  for (const embed of embeds) {
    const r = renderEmbed(embed);
    if (r.text !== "") parts.push(r);
  }
  const joined = lines(parts);
  return { text: parts.map((p) => p.text).join("\n\n"), html: joined.html };
}
