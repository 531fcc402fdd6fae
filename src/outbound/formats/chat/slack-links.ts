/**
 * Slack's `<…>` syntax in an answer's text, as markdown (what Mattermost does before it renders a
 * webhook's text): `<url|label>` → `[label](<url>)`, `<url>` stays an autolink, `<@U1|bob>` →
 * `@bob`, `<#C1|general>` → `#general`, `<!here>` → `@here`. Other `<…>` are left alone (the
 * markdown renderer and the sanitizer deal with them). One linear pass.
 */
export function slackLinksToMarkdown(text: string): string {
  return text.replace(/<([^<>\n]{1,2000})>/g, (whole, inner: string) => {
    const bar = inner.indexOf("|");
    const target = bar < 0 ? inner : inner.slice(0, bar);
    const label = bar < 0 ? undefined : inner.slice(bar + 1);
    if (/^(https?:\/\/|mailto:)/i.test(target)) return label ? `[${escapeLabel(label)}](${destination(target)})` : whole;
    if (target.startsWith("!")) return label ?? `@${target.slice(1).split("^")[0]}`;
    if (target.startsWith("@")) return label ? `@${label.replace(/^@/, "")}` : target;
    if (target.startsWith("#")) return label ? `#${label.replace(/^#/, "")}` : target;
    return whole;
  });
}

// A destination with spaces or parentheses needs CommonMark's <…> form.
const destination = (url: string): string => (/[\s()]/.test(url) ? `<${url}>` : url);
const escapeLabel = (label: string): string => label.replace(/([\\[\]])/g, "\\$1");
