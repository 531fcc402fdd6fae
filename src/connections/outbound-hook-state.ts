import { Ajv } from "ajv";
import { OUTBOUND_FORMATS, type OutboundFormat } from "../outbound/formats/format-names.js";
import { schemaProblems } from "./schema-problems.js";

/** Hookshot's outbound hook state event; state_key = hook name. */
export const OUTBOUND_HOOK_EVENT_TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";
export const MAX_HOOK_NAME_LENGTH = 64;
export const MAX_HOOK_URL_LENGTH = 2048;
export const OUTBOUND_METHODS = ["PUT", "POST"] as const;
export type OutboundMethod = (typeof OUTBOUND_METHODS)[number];
/** How events are encoded: see src/outbound/formats/render.ts. */
export { OUTBOUND_FORMATS, type OutboundFormat };

/** A valid outbound hook as configured in room state. */
export interface OutboundHookSettings {
  name: string;
  url: string;
  method: OutboundMethod;
  /** "strict": a later event waits until the earlier one is delivered or given up. */
  ordering: "none" | "strict";
  /** null: the state names none, so `delivery.defaultFormat` applies. */
  format: OutboundFormat | null;
}

// Extra keys are allowed: Hookshot and later versions of this bridge may add fields.
const schema = {
  type: "object",
  required: ["name", "url"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: MAX_HOOK_NAME_LENGTH },
    url: { type: "string", minLength: 1, maxLength: MAX_HOOK_URL_LENGTH },
    method: { enum: [...OUTBOUND_METHODS] },
    ordering: { enum: ["none", "strict"] },
    format: { enum: [...OUTBOUND_FORMATS] },
  },
} as const;

const validateShape = new Ajv({ allErrors: true }).compile(schema);

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Checks a hook name given in a command or a state key. */
export function checkHookName(name: string): string | null {
  if (name.length === 0) return "the name is empty";
  if (name.length > MAX_HOOK_NAME_LENGTH) return `the name is ${name.length} characters long (at most ${MAX_HOOK_NAME_LENGTH})`;
  if (/[\s\p{Cc}]/u.test(name)) return "the name contains spaces or control characters";
  return null;
}

/** Checks a hook URL: absolute http(s), no credentials in it. */
export function checkHookUrl(url: string): string | null {
  if (url.length > MAX_HOOK_URL_LENGTH) return `the URL is longer than ${MAX_HOOK_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a valid absolute URL`;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return `the URL scheme "${parsed.protocol.replace(/:$/, "")}" is not allowed (use http or https)`;
  }
  if (parsed.username || parsed.password) return "the URL must not contain a user name or password";
  return null;
}

/** Validates the content of an outbound hook state event whose state_key is `stateKey`. */
export function validateOutboundHookContent(stateKey: string, content: unknown): Validation<OutboundHookSettings> {
  const problems: string[] = [];
  const nameProblem = checkHookName(stateKey);
  if (nameProblem) problems.push(`state key: ${nameProblem}`);
  const shapeOk = validateShape(content);
  if (!shapeOk) problems.push(...schemaProblems(validateShape.errors));
  // Check what can be checked even when the shape is wrong, so one notice lists every problem.
  const c = (typeof content === "object" && content !== null ? content : {}) as Record<string, unknown>;
  if (typeof c.name === "string" && c.name !== stateKey) problems.push(`name: "${c.name}" must equal the state key "${stateKey}"`);
  const urlProblem = typeof c.url === "string" && c.url.length <= MAX_HOOK_URL_LENGTH ? checkHookUrl(c.url) : null;
  if (urlProblem) problems.push(`url: ${urlProblem}`);
  if (!shapeOk || problems.length > 0) return { ok: false, problems };
  const valid = content as { name: string; url: string; method?: OutboundMethod; ordering?: "none" | "strict"; format?: OutboundFormat };
  return {
    ok: true,
    value: { name: valid.name, url: valid.url, method: valid.method ?? "PUT", ordering: valid.ordering ?? "none", format: valid.format ?? null },
  };
}

/** Empty content removes a hook (how Matrix "deletes" state). */
export function isRemoval(content: unknown): boolean {
  return content === null || content === undefined || (typeof content === "object" && Object.keys(content).length === 0);
}
