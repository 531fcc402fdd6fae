import { badRequest, InboundError } from "./errors.js";

/** A request body as the mappers see it: parsed JSON (forms become JSON too) or plain text. */
export type InboundPayload = { kind: "json"; value: unknown } | { kind: "text"; value: string } | { kind: "html"; value: string };

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
  if (type === "application/json" || type === "text/json" || type.endsWith("+json")) return { kind: "json", value: parseJson(text, "the body") };
  if (type === "application/x-www-form-urlencoded") return parseForm(text);
  if (type === "text/html") return { kind: "html", value: text };
  if (type.startsWith("text/")) return { kind: "text", value: text };
  if (type === "") return looksLikeJson(text) ? { kind: "json", value: parseJson(text, "the body") } : { kind: "text", value: text };
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

function parseJson(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`${what} is not valid JSON (${(err as Error).message.slice(0, 120)})`);
  }
  if (depthOver(value, MAX_JSON_DEPTH)) throw badRequest(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

// curl -d '{"text":"hi"}' sends JSON labelled as a form; read it as what it is.
function parseForm(text: string): InboundPayload {
  if (looksLikeJson(text)) {
    try {
      return { kind: "json", value: parseJson(text, "the body") };
    } catch {
      // a form after all
    }
  }
  const params = new URLSearchParams(text);
  const payload = params.get("payload");
  if (payload !== null) return { kind: "json", value: parseJson(payload, "the payload field") };
  const fields: Record<string, string> = {};
  for (const [key, value] of params) if (!(key in fields)) fields[key] = value;
  if (Object.keys(fields).length === 0) throw badRequest("the form has no fields");
  return { kind: "json", value: fields };
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
