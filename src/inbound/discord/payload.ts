import type { FormIssue } from "./errors.js";

/** Discord's documented limits (Execute Webhook, embed limits). Characters are counted as code points. */
export const DISCORD_LIMITS = {
  content: 2000,
  username: 80,
  embeds: 10,
  embedTotal: 6000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  files: 10,
  url: 2048,
} as const;

/** Message flags a webhook may set: SUPPRESS_EMBEDS (link previews) and SUPPRESS_NOTIFICATIONS. */
export const FLAG_SUPPRESS_EMBEDS = 1 << 2;
export const FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12;
const ALLOWED_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS;

export interface DiscordEmbedField {
  name: string;
  value: string;
  inline: boolean;
}

/** A rich embed as a webhook may send it (type, video and provider are Discord's own, not a webhook's). */
export interface DiscordEmbed {
  title?: string;
  description?: string;
  url?: string;
  /** 0xRRGGBB */
  color?: number;
  /** ISO 8601 as sent. */
  timestamp?: string;
  author?: { name: string; url?: string; icon_url?: string };
  footer?: { text: string; icon_url?: string };
  image?: { url: string };
  thumbnail?: { url: string };
  fields: DiscordEmbedField[];
}

export interface DiscordAllowedMentions {
  /** Whether @everyone / @here in the content may notify the room. */
  everyone: boolean;
}

/** An execute-webhook (or edit) body, checked. Absent fields are undefined; in an edit, null clears. */
export interface DiscordPayload {
  content?: string | null;
  username?: string;
  avatarUrl?: string;
  embeds?: DiscordEmbed[] | null;
  allowedMentions: DiscordAllowedMentions;
  flags: number;
  /** Per-file metadata by the file's index (`files[n]` ↔ attachments[].id = n). */
  attachments: Array<{ id: string; filename?: string; description?: string }>;
}

const chars = (s: string) => [...s].length;

/** Checks an execute-webhook body and reads it; every problem is reported at its path, as Discord does (50035). */
export function readDiscordPayload(value: unknown): { payload: DiscordPayload; issues: FormIssue[] } {
  const issues: FormIssue[] = [];
  const o = isObject(value) ? value : {};
  if (!isObject(value)) issues.push({ path: [], code: "DICT_TYPE_CONVERT", message: "Only dictionaries may be used in a DictType" });
  const check = new Checker(issues);
  const payload: DiscordPayload = { allowedMentions: { everyone: true }, flags: 0, attachments: [] };
  const content = check.nullableString(o.content, ["content"], DISCORD_LIMITS.content);
  if (content !== undefined) payload.content = content;
  const username = check.string(o.username, ["username"], DISCORD_LIMITS.username, 1);
  if (username !== undefined) payload.username = username;
  const avatar = check.url(o.avatar_url, ["avatar_url"]);
  if (avatar !== undefined) payload.avatarUrl = avatar;
  if (o.embeds === null) payload.embeds = null;
  else if (o.embeds !== undefined) payload.embeds = readEmbeds(o.embeds, check);
  payload.allowedMentions = readAllowedMentions(o.allowed_mentions, check);
  if (o.flags !== undefined && o.flags !== null) {
    if (!Number.isSafeInteger(o.flags) || (o.flags as number) < 0) check.issue(["flags"], "NUMBER_TYPE_COERCE", `Value ${shown(o.flags)} is not int.`);
    else if (((o.flags as number) & ~ALLOWED_FLAGS) !== 0) check.issue(["flags"], "MESSAGE_FLAGS_INVALID", "A webhook may only set SUPPRESS_EMBEDS (4) and SUPPRESS_NOTIFICATIONS (4096).");
    else payload.flags = o.flags as number;
  }
  payload.attachments = readAttachments(o.attachments, check);
  for (const unsupported of ["components", "poll", "sticker_ids"]) {
    if (o[unsupported] !== undefined && o[unsupported] !== null) check.issue([unsupported], "UNSUPPORTED", `This bridge does not post ${unsupported} to Matrix.`);
  }
  return { payload, issues };
}

function readEmbeds(value: unknown, check: Checker): DiscordEmbed[] {
  if (!Array.isArray(value)) {
    check.issue(["embeds"], "BASE_TYPE_LIST", "Must be an array.");
    return [];
  }
  if (value.length > DISCORD_LIMITS.embeds) check.issue(["embeds"], "BASE_TYPE_MAX_LENGTH", `Must be ${DISCORD_LIMITS.embeds} or fewer in length.`);
  const embeds = value.slice(0, DISCORD_LIMITS.embeds).map((e, i) => readEmbed(e, ["embeds", i], check));
  const total = embeds.reduce((sum, e) => sum + embedChars(e), 0);
  if (total > DISCORD_LIMITS.embedTotal) check.issue(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", `Embed size exceeds maximum size of ${DISCORD_LIMITS.embedTotal}`);
  return embeds;
}

/** Characters Discord counts towards the 6,000 of a message's embeds. */
export function embedChars(e: DiscordEmbed): number {
  const parts = [e.title, e.description, e.author?.name, e.footer?.text, ...e.fields.flatMap((f) => [f.name, f.value])];
  return parts.reduce((sum, p) => sum + (p ? chars(p) : 0), 0);
}

function readEmbed(value: unknown, path: Array<string | number>, check: Checker): DiscordEmbed {
  const embed: DiscordEmbed = { fields: [] };
  if (!isObject(value)) {
    check.issue(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType");
    return embed;
  }
  const set = <K extends keyof DiscordEmbed>(key: K, v: DiscordEmbed[K] | undefined) => {
    if (v !== undefined) embed[key] = v;
  };
  set("title", check.string(value.title, [...path, "title"], DISCORD_LIMITS.title));
  set("description", check.string(value.description, [...path, "description"], DISCORD_LIMITS.description));
  set("url", check.url(value.url, [...path, "url"]));
  if (value.color !== undefined && value.color !== null) {
    if (Number.isSafeInteger(value.color) && (value.color as number) >= 0 && (value.color as number) <= 0xffffff) embed.color = value.color as number;
    else check.issue([...path, "color"], "NUMBER_TYPE_MAX", "int value should be between 0 and 16777215.");
  }
  if (value.timestamp !== undefined && value.timestamp !== null) {
    if (typeof value.timestamp === "string" && /^\d{4}-\d\d-\d\dT/.test(value.timestamp) && !Number.isNaN(Date.parse(value.timestamp))) embed.timestamp = value.timestamp;
    else check.issue([...path, "timestamp"], "DATE_TIME_TYPE_PARSE", "Could not parse the timestamp. Should be ISO8601.");
  }
  const author = check.object(value.author, [...path, "author"]);
  if (author) {
    const name = check.string(author.name, [...path, "author", "name"], DISCORD_LIMITS.authorName, 1, true);
    if (name !== undefined) embed.author = { name, ...opt("url", check.url(author.url, [...path, "author", "url"])), ...opt("icon_url", check.url(author.icon_url, [...path, "author", "icon_url"])) };
  }
  const footer = check.object(value.footer, [...path, "footer"]);
  if (footer) {
    const text = check.string(footer.text, [...path, "footer", "text"], DISCORD_LIMITS.footerText, 1, true);
    if (text !== undefined) embed.footer = { text, ...opt("icon_url", check.url(footer.icon_url, [...path, "footer", "icon_url"])) };
  }
  for (const key of ["image", "thumbnail"] as const) {
    const media = check.object(value[key], [...path, key]);
    const url = media ? check.url(media.url, [...path, key, "url"], true) : undefined;
    if (url !== undefined) embed[key] = { url };
  }
  if (value.fields !== undefined && value.fields !== null) {
    if (!Array.isArray(value.fields)) check.issue([...path, "fields"], "BASE_TYPE_LIST", "Must be an array.");
    else {
      if (value.fields.length > DISCORD_LIMITS.fields) check.issue([...path, "fields"], "BASE_TYPE_MAX_LENGTH", `Must be ${DISCORD_LIMITS.fields} or fewer in length.`);
      value.fields.slice(0, DISCORD_LIMITS.fields).forEach((f, i) => {
        const at = [...path, "fields", i];
        const field = check.object(f, at, true);
        if (!field) return;
        const name = check.string(field.name, [...at, "name"], DISCORD_LIMITS.fieldName, 1, true);
        const fieldValue = check.string(field.value, [...at, "value"], DISCORD_LIMITS.fieldValue, 1, true);
        if (field.inline !== undefined && field.inline !== null && typeof field.inline !== "boolean") check.issue([...at, "inline"], "BASE_TYPE_BOOLEAN", "Must be either true or false.");
        if (name !== undefined && fieldValue !== undefined) embed.fields.push({ name, value: fieldValue, inline: field.inline === true });
      });
    }
  }
  return embed;
}

function readAllowedMentions(value: unknown, check: Checker): DiscordAllowedMentions {
  // Absent: Discord's default for webhooks notifies for what the content mentions.
  if (value === undefined || value === null) return { everyone: true };
  const o = check.object(value, ["allowed_mentions"]);
  if (!o) return { everyone: false };
  if (o.parse === undefined || o.parse === null) return { everyone: false };
  if (!Array.isArray(o.parse)) {
    check.issue(["allowed_mentions", "parse"], "BASE_TYPE_LIST", "Must be an array.");
    return { everyone: false };
  }
  o.parse.forEach((p, i) => {
    if (p !== "everyone" && p !== "users" && p !== "roles") check.issue(["allowed_mentions", "parse", i], "BASE_TYPE_CHOICES", 'Value must be one of ("roles", "users", "everyone").');
  });
  return { everyone: o.parse.includes("everyone") };
}

function readAttachments(value: unknown, check: Checker): DiscordPayload["attachments"] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    check.issue(["attachments"], "BASE_TYPE_LIST", "Must be an array.");
    return [];
  }
  const out: DiscordPayload["attachments"] = [];
  value.slice(0, DISCORD_LIMITS.files).forEach((a, i) => {
    const o = check.object(a, ["attachments", i], true);
    if (!o) return;
    const id = typeof o.id === "number" || typeof o.id === "string" ? String(o.id) : undefined;
    if (id === undefined) return check.issue(["attachments", i, "id"], "BASE_TYPE_REQUIRED", "This field is required");
    out.push({ id, ...opt("filename", check.string(o.filename, ["attachments", i, "filename"], 255)), ...opt("description", check.string(o.description, ["attachments", i, "description"], 1024)) });
  });
  return out;
}

/** Field checks that collect Discord-worded issues instead of throwing at the first. */
class Checker {
  constructor(private readonly issues: FormIssue[]) {}

  issue(path: ReadonlyArray<string | number>, code: string, message: string): void {
    this.issues.push({ path, code, message });
  }

  string(v: unknown, path: ReadonlyArray<string | number>, max: number, min = 0, required = false): string | undefined {
    if (v === undefined || v === null) {
      if (required) this.issue(path, "BASE_TYPE_REQUIRED", "This field is required");
      return undefined;
    }
    if (typeof v !== "string") return void this.issue(path, "BASE_TYPE_STRING", "Must be a string.");
    const n = chars(v);
    if (n > max) return void this.issue(path, "BASE_TYPE_MAX_LENGTH", `Must be ${max} or fewer in length.`);
    if (n < min || (required && v.trim() === "")) return void this.issue(path, "BASE_TYPE_MIN_LENGTH", `Must be ${Math.max(1, min)} or more in length.`);
    return v;
  }

  nullableString(v: unknown, path: ReadonlyArray<string | number>, max: number): string | null | undefined {
    return v === null ? null : this.string(v, path, max);
  }

  url(v: unknown, path: ReadonlyArray<string | number>, required = false): string | undefined {
    const s = this.string(v, path, DISCORD_LIMITS.url, 0, required);
    if (s === undefined) return undefined;
    if (!/^(https?:\/\/[^\s]+|attachment:\/\/[^\s/]+|mxc:\/\/[^\s]+)$/i.test(s)) return void this.issue(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.");
    return s;
  }

  object(v: unknown, path: ReadonlyArray<string | number>, required = false): Record<string, unknown> | undefined {
    if (v === undefined || v === null) {
      if (required) this.issue(path, "BASE_TYPE_REQUIRED", "This field is required");
      return undefined;
    }
    if (!isObject(v)) return void this.issue(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType");
    return v;
  }
}

/** A sender's value in a reason: strings and numbers as they are (short), anything else by its kind (no toString of theirs runs). */
const shown = (v: unknown) => (typeof v === "string" ? `"${[...v].slice(0, 40).join("")}"` : typeof v === "number" ? String(v) : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : String(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const opt = <K extends string, V>(key: K, v: V | undefined) => (v === undefined ? {} : ({ [key]: v } as Record<K, V>));
