import { badRequest, InboundError } from "./errors.js";
import { hasNonCanonicalNumber, parseJsonKeepingNumbers } from "./matrix-safe.js";

/**
 * A request body as the mappers see it: parsed JSON (forms become JSON too) or plain text. For
 * JSON, `raw` is the same value with the numbers a homeserver cannot store as strings of their
 * source text (kept under the raw-payload key); `slackForm` marks a `payload=` form, as Slack sends.
 */
export type InboundPayload =
  | { kind: "json"; value: unknown; raw: unknown; slackForm?: true }
  | { kind: "text"; value: string }
  | { kind: "html"; value: string };

/** Deeper JSON than this is refused: nothing legitimate nests so far, and walking it must stay cheap. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a body by its content type: JSON (`application/json`, `+json`), a form (`payload=` JSON
 * as Slack and GitHub send it, else its fields), `text/plain` and `text/html`. No content type:
 * JSON when it looks like JSON, else text. Throws InboundError (400 or 415).
 */
export function parsePayload(body: Buffer, contentType: string | undefined): InboundPayload {
  const { type, charset } = parseContentType(contentType);
  const text = decode(body, charset);
  if (text.trim().length === 0) throw badRequest("the body is empty");
  if (type === "application/json" || type === "text/json" || type.endsWith("+json")) return parseJson(text, "the body");
  if (type === "application/x-www-form-urlencoded") return parseForm(text);
  if (type === "text/html") return { kind: "html", value: text };
  if (type.startsWith("text/")) return { kind: "text", value: text };
  if (type === "") return looksLikeJson(text) ? parseJson(text, "the body") : { kind: "text", value: text };
  throw new InboundError("unsupported", `content type "${type.slice(0, 100)}" is not supported (use application/json, application/x-www-form-urlencoded or text/plain)`);
}

function parseContentType(header: string | undefined): { type: string; charset: string } {
  if (!header) return { type: "", charset: "utf-8" };
  const [type = "", ...params] = header.split(";");
  const charset = params.map((p) => /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p)?.[1]).find((c) => c !== undefined);
  return { type: type.trim().toLowerCase(), charset: charset ?? "utf-8" };
}

function decode(body: Buffer, charset: string): string {
  let decoder;
  try {
    decoder = new TextDecoder(charset);
  } catch {
    throw new InboundError("unsupported", `charset "${charset.slice(0, 40)}" is not supported`);
  }
  return decoder.decode(body);
}

const looksLikeJson = (text: string) => /^\s*[[{]/.test(text);

function parseJson(text: string, what: string): InboundPayload & { kind: "json" } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`${what} is not valid JSON (${(err as Error).message.slice(0, 120)})`);
  }
  if (depthOver(value, MAX_JSON_DEPTH)) throw badRequest(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  // A second parse only when needed: it is the one place that sees the numbers' source text.
  return { kind: "json", value, raw: hasNonCanonicalNumber(value) ? parseJsonKeepingNumbers(text) : value };
}

// curl -d '{"text":"hi"}' sends JSON labelled as a form; read it as what it is.
function parseForm(text: string): InboundPayload {
  if (looksLikeJson(text)) {
    try {
      return parseJson(text, "the body");
    } catch {
      // a form after all
    }
  }
  const params = new URLSearchParams(text);
  const payload = params.get("payload");
  if (payload !== null) return { ...parseJson(payload, "the payload field"), slackForm: true };
  // Field names are the sender's: a Map, so "__proto__" or "constructor" are fields like any other.
  const fields = new Map<string, string>();
  for (const [key, value] of params) if (!fields.has(key)) fields.set(key, value);
  if (fields.size === 0) throw badRequest("the form has no fields");
  const value = Object.fromEntries(fields);
  return { kind: "json", value, raw: value };
}

/** Iterative, so a hostile nesting cannot exhaust the stack. */
function depthOver(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
