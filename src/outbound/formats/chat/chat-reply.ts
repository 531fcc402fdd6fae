import { escapeHtml } from "../../../inbound/html.js";
import { lines, multiline, type Rich } from "../../../inbound/message.js";
import type { ChatReply, ReplyLimits, ReplyParse, ReplyPart } from "./chat-format.js";
import { splitReplySource } from "./reply-split.js";

/**
 * What the chat formats share when reading an answer: the JSON checks (never a throw) and the
 * assembly of one reply out of a text (split, then converted part by part) and an optional
 * trailer (Slack attachments, already rendered).
 */

/** Answers longer than this are not read (Mattermost reads at most 1 MiB of an integration's answer too). */
export const MAX_REPLY_BODY_CHARS = 1024 * 1024;

export type JsonObject = Record<string, unknown>;

/** The answer's JSON object, `null` for "nothing to post", or the reason it cannot be read. */
export function replyObject(body: string, contentType: string | null): { kind: "object"; value: JsonObject } | { kind: "none" } | { kind: "malformed"; reason: string } {
  if (body.length > MAX_REPLY_BODY_CHARS) return { kind: "malformed", reason: `the answer is longer than ${MAX_REPLY_BODY_CHARS} characters` };
  if (body.trim() === "") return { kind: "none" };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: "malformed", reason: `the answer is not JSON${contentType ? ` (content type ${contentType.slice(0, 100)})` : ""}` };
  }
  // zulip_botserver before 2021 answered json.dumps("") for "no reply"; Zulip still accepts it.
  if (value === "" || value === null) return { kind: "none" };
  if (typeof value !== "object" || Array.isArray(value)) return { kind: "malformed", reason: `the answer's JSON is ${Array.isArray(value) ? "a list" : `a ${typeof value}`}, not an object` };
  return { kind: "object", value: value as JsonObject };
}

/**
 * The fields' type errors, in the order given. `null` counts as absent (serializers write it for
 * unset fields); a field of the wrong type makes the whole answer malformed.
 */
export function wrongTypes(o: JsonObject, fields: ReadonlyArray<readonly [name: string, type: "string" | "array" | "boolean"]>): string | null {
  for (const [name, type] of fields) {
    const v = Object.hasOwn(o, name) ? o[name] : undefined;
    if (v === undefined || v === null) continue;
    const ok = type === "array" ? Array.isArray(v) : typeof v === type;
    if (!ok) return `\`${name}\` is ${Array.isArray(v) ? "a list" : `a ${typeof v}`}, not a ${type === "array" ? "list" : type}`;
  }
  return null;
}

/** An own field's value (never an inherited one: keys come from the answer). */
export const field = (o: JsonObject, name: string): unknown => (Object.hasOwn(o, name) ? o[name] : undefined);
export const stringField = (o: JsonObject, name: string): string | undefined => {
  const v = field(o, name);
  return typeof v === "string" ? v : undefined;
};

/** `response_not_required: true` (Zulip; accepted from every platform's answer). */
export const responseNotRequired = (o: JsonObject): boolean => field(o, "response_not_required") === true;

export interface ReplyPieces {
  /** The reply's source text (markdown / mrkdwn), split and converted part by part. */
  text: string;
  convert(source: string): Rich;
  /** Rendered after the text (Slack attachments), or null. */
  trailer: Rich | null;
  startThread: boolean;
  username?: string;
  iconUrl?: string;
}

/** The marker the last part gets when maxParts cut the reply. */
export const cutMarker = (chars: number): string => `… (reply cut: ${chars} more characters)`;

/** Splits and converts a reply; `none` when nothing shows. */
export function assembleReply(pieces: ReplyPieces, limits: ReplyLimits): ReplyParse {
  const maxParts = Math.max(1, Math.floor(limits.maxParts) || 1);
  const maxChars = Math.max(1, Math.floor(limits.maxChars) || 1);
  const text = pieces.text.trim() === "" ? "" : pieces.text;
  const split = splitReplySource(text, maxChars, maxParts);
  const rich: Rich[] = split.parts.map(pieces.convert).filter((r) => r.text.trim() !== "");
  let cut = split.cutChars;
  const trailer = pieces.trailer && pieces.trailer.text.trim() !== "" ? pieces.trailer : null;
  if (trailer) {
    const last = rich[rich.length - 1];
    const lastSource = split.parts[split.parts.length - 1] ?? "";
    if (cut > 0) cut += trailer.text.length;
    else if (last && lastSource.length + trailer.text.length <= maxChars) rich[rich.length - 1] = lines([last, trailer]);
    else if (rich.length >= maxParts) cut += trailer.text.length;
    else if (trailer.text.length <= maxChars) rich.push(trailer);
    else {
      // A trailer too long for one message goes on as plain text, split like the text.
      const rest = splitReplySource(trailer.text, maxChars, maxParts - rich.length);
      rich.push(...rest.parts.map(multiline));
      cut += rest.cutChars;
    }
  }
  if (rich.length === 0) return { kind: "none" };
  const parts: ReplyPart[] = rich.map((r) => ({ text: r.text, html: r.html }));
  if (cut > 0) {
    const last = parts[parts.length - 1]!;
    const marker = cutMarker(cut);
    parts[parts.length - 1] = { text: `${last.text}\n\n${marker}`, html: `${last.html ?? escapeHtml(last.text)}<p><em>${escapeHtml(marker)}</em></p>` };
  }
  const reply: ChatReply = {
    parts,
    truncated: cut > 0,
    startThread: pieces.startThread,
    ...(pieces.username !== undefined && pieces.username.trim() !== "" ? { username: pieces.username.trim() } : {}),
    ...(pieces.iconUrl !== undefined && pieces.iconUrl.trim() !== "" ? { iconUrl: pieces.iconUrl.trim() } : {}),
  };
  return { kind: "reply", reply };
}

/** Runs a reply reader, turning any unexpected error into a malformed answer (a reply never throws). */
export function safely(read: () => ReplyParse): ReplyParse {
  try {
    return read();
  } catch (err) {
    return { kind: "malformed", reason: `the answer could not be read (${err instanceof Error ? err.message.slice(0, 200) : "error"})` };
  }
}
