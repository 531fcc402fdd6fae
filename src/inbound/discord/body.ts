import busboy from "busboy";
import type { IncomingHttpHeaders } from "node:http";
import { InboundError } from "../errors.js";
import { parsePayload } from "../payload.js";
import { invalidFormBody, invalidJson } from "./errors.js";
import { cleanFilename, type DiscordFile } from "./files.js";
import { DISCORD_LIMITS } from "./payload.js";

/** An execute-webhook request body: the JSON payload (still unchecked) and its files, in order. */
export interface DiscordBody {
  payload: unknown;
  files: DiscordFile[];
}

/**
 * Reads a Discord webhook body: JSON (or a form) as the generic route reads it, or
 * `multipart/form-data` with `payload_json` and `files[n]` parts (plain `content`, `username`, …
 * fields are read too, as Discord does). The body is already within the cap; busboy parses it.
 */
export async function readDiscordBody(body: Buffer, headers: IncomingHttpHeaders): Promise<DiscordBody> {
  const type = String(headers["content-type"] ?? "");
  if (/^\s*multipart\/form-data\s*(;|$)/i.test(type)) return readMultipart(body, type);
  if (body.length === 0) return { payload: {}, files: [] };
  let parsed;
  try {
    parsed = parsePayload(body, type || undefined);
  } catch (err) {
    if (err instanceof InboundError && err.kind === "bad_request") throw invalidJson(err.reason);
    throw err;
  }
  if (parsed.kind !== "json") throw invalidJson("send application/json or multipart/form-data");
  return { payload: parsed.value, files: [] };
}

function readMultipart(body: Buffer, contentType: string): Promise<DiscordBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { "content-type": contentType }, limits: { files: DISCORD_LIMITS.files, fields: 50, parts: 60, fieldSize: body.length + 1 } });
    } catch (err) {
      reject(invalidJson(`the multipart body could not be read (${(err as Error).message})`));
      return;
    }
    // Field names are the sender's: a Map, so "__proto__" is a field like any other.
    const fields = new Map<string, string>();
    const files: DiscordFile[] = [];
    let tooMany = false;
    parser.on("field", (name, value) => {
      if (!fields.has(name)) fields.set(name, value);
    });
    parser.on("file", (_name, stream, info) => {
      const chunks: Buffer[] = [];
      const index = files.length;
      stream.on("data", (c: Buffer) => chunks.push(c));
      // A cut-off body fails the part too; the parser's own error answers it.
      stream.on("error", () => undefined);
      stream.on("end", () => {
        files[index] = { index, filename: cleanFilename(info.filename), declaredType: info.mimeType ?? "", bytes: Buffer.concat(chunks) };
      });
      files.length = index + 1;
    });
    parser.on("filesLimit", () => (tooMany = true));
    parser.on("error", (err: Error) => reject(invalidJson(`the multipart body could not be read (${err.message})`)));
    parser.on("close", () => {
      if (tooMany) return reject(invalidFormBody([{ path: ["files"], code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${DISCORD_LIMITS.files} or fewer in length.` }]));
      try {
        resolve({ payload: payloadOf(fields), files: files.filter((f): f is DiscordFile => f !== undefined) });
      } catch (err) {
        reject(err);
      }
    });
    parser.end(body);
  });
}

/** `payload_json` when given, else the plain fields Discord also reads (content, username, avatar_url, tts, flags). */
function payloadOf(fields: Map<string, string>): unknown {
  const json = fields.get("payload_json");
  if (json !== undefined) {
    try {
      return JSON.parse(json) as unknown;
    } catch (err) {
      throw invalidJson(`payload_json: ${(err as Error).message}`);
    }
  }
  const payload: Record<string, unknown> = {};
  for (const key of ["content", "username", "avatar_url"]) {
    const v = fields.get(key);
    if (v !== undefined) payload[key] = v;
  }
  const flags = fields.get("flags");
  if (flags !== undefined) payload.flags = /^\d{1,9}$/.test(flags) ? Number(flags) : flags;
  return payload;
}

