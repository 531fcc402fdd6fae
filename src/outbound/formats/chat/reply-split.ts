/**
 * Splits a long reply's source text (markdown or mrkdwn) into parts of at most `maxChars`
 * characters (UTF-16 code units, as JavaScript counts them), in order, the way Mattermost splits
 * a long webhook post — but at line boundaries where possible (else at a space, else anywhere but
 * inside a surrogate pair), and keeping code blocks whole in each part: a fence open at a cut is
 * closed at the end of the part and opened again (same opening line) at the start of the next.
 * Those fence lines come on top of maxChars. At most `maxParts` parts; `cutChars` says how much
 * of the source did not fit. Work is bounded by maxParts × maxChars plus one count of the rest.
 */
export interface SplitSource {
  parts: string[];
  /** Characters of the source left out because maxParts was reached (0 when everything fits). */
  cutChars: number;
}

/** The converters (markdownToHtml, mrkdwn) read at most 40,000 characters; a part never holds more. */
export const MAX_PART_CHARS = 40_000;

export function splitReplySource(source: string, maxChars: number, maxParts: number): SplitSource {
  const size = clamp(maxChars, 1, MAX_PART_CHARS);
  const cap = clamp(maxParts, 1, 1000);
  const parts: string[] = [];
  let pos = 0;
  let fence: Fence | null = null;
  while (pos < source.length && parts.length < cap) {
    const end = cutAt(source, pos, size);
    const chunk = source.slice(pos, end);
    const reopen: string = fence ? `${fence.line}\n` : "";
    const openAtEnd: Fence | null = fenceAfter(chunk, fence);
    parts.push(reopen + chunk + (openAtEnd && end < source.length ? `\n${openAtEnd.marker}` : ""));
    fence = openAtEnd;
    // The line break (or space) the cut was made at is dropped: each part ends where its line ends.
    pos = end < source.length && (source[end] === "\n" || source[end] === " ") ? end + 1 : end;
  }
  return { parts, cutChars: source.length - pos };
}

const clamp = (n: number, lo: number, hi: number): number => (Number.isFinite(n) ? Math.min(hi, Math.max(lo, Math.floor(n))) : lo);

/** Where the part starting at `pos` ends (exclusive): the last line break in reach, else the last space, else `size`. */
function cutAt(s: string, pos: number, size: number): number {
  if (s.length - pos <= size) return s.length;
  const limit = pos + size;
  const newline = s.lastIndexOf("\n", limit);
  if (newline > pos) return newline;
  const space = s.lastIndexOf(" ", limit);
  if (space > pos) return space;
  // A hard cut never separates a surrogate pair: back off one, or (a part of one pair) take the pair.
  if (isHigh(s.charCodeAt(limit - 1)) && isLow(s.charCodeAt(limit))) return limit - 1 > pos ? limit - 1 : limit + 1;
  return limit;
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

interface Fence {
  /** The opening line, as written (reopened in the next part). */
  line: string;
  /** The fence characters, e.g. "```" or "~~~~" (closing it). */
  marker: string;
}

// CommonMark fences: up to 3 spaces, then 3+ backticks (info without backticks) or 3+ tildes.
const FENCE_LINE = /^ {0,3}(`{3,}(?=[^`]*$)|~{3,})(.*)$/;

/** The fence still open after `chunk`, given the one open before it. */
function fenceAfter(chunk: string, open: Fence | null): Fence | null {
  let fence = open;
  for (const line of chunk.split("\n")) {
    const m = FENCE_LINE.exec(line);
    if (!m) continue;
    const marker = m[1]!;
    if (!fence) fence = { line: line.trimStart(), marker };
    else if (marker[0] === fence.marker[0] && marker.length >= fence.marker.length && m[2]!.trim() === "") fence = null;
  }
  return fence;
}
