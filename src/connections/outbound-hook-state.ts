import { Ajv } from "ajv";
import { EVENT_FORMATS, OUTBOUND_FORMATS, type OutboundFormat } from "../outbound/formats/format-names.js";
import { TRIGGER_WHEN, type HookFilter, type TriggerWhen } from "../outbound/hook-filter.js";
import { CALLBACK_SCHEMA_PROPERTIES, callbackProblems, callbackSettings, type CallbackContent, type CallbackPhase, type CallbackSettings } from "./callback-state.js";
import { isTencentCommand, tencentCommandInfo } from "../outbound/formats/tencent/index.js";
import { schemaProblems } from "./schema-problems.js";
import { BATCH_SCHEMA_PROPERTIES, batchProblems, batchSettings, type BatchContent } from "./batch-state.js";
import type { BatchSettings } from "../delivery/batch.js";
import { MAX_TRANSFORMATION_FUNCTION_CHARS } from "../transform/limits.js";

/** Hookshot's outbound hook state event; state_key = hook name. */
export const OUTBOUND_HOOK_EVENT_TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";
export const MAX_HOOK_NAME_LENGTH = 64;
export const MAX_HOOK_URL_LENGTH = 2048;
export const MAX_HOOK_URLS = 5;
export const MAX_TRIGGER_WORDS = 20;
export const MAX_FILTER_ENTRIES = 20;
export const CONTENT_TYPES = ["form", "json", "application/x-www-form-urlencoded", "application/json"] as const;
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
  /** Every callback URL: `url` first, then `urls`; each is delivered and retried on its own. */
  urls: readonly string[];
  filter: HookFilter;
  /** How the mattermost format encodes its request (Mattermost's `content_type`). */
  contentType: "form" | "json";
  /** Format tencent: a before- or after-event callback (callback-state.ts); null for other formats. */
  callback: CallbackSettings | null;
  /** A `delivery.tlsProfiles` entry (CA bundle, client certificate) to send with; null: none named. */
  tlsProfile: string | null;
  /** Up to how many events go in one request, waiting at most how long (batch-state.ts); null: each event alone. */
  batch: BatchSettings | null;
  /** JavaScript that shapes the body sent (event formats only: src/transform/); absent or null: the event as is. */
  transformationFunction?: string | null;
}

// Extra keys are allowed: Hookshot and later versions of this bridge may add fields.
const schema = {
  type: "object",
  required: ["name"],
  anyOf: [{ required: ["url"] }, { required: ["urls"] }],
  properties: {
    name: { type: "string", minLength: 1, maxLength: MAX_HOOK_NAME_LENGTH },
    url: { type: "string", minLength: 1, maxLength: MAX_HOOK_URL_LENGTH },
    urls: { type: "array", minItems: 1, maxItems: MAX_HOOK_URLS, items: { type: "string", minLength: 1, maxLength: MAX_HOOK_URL_LENGTH } },
    method: { enum: [...OUTBOUND_METHODS] },
    ordering: { enum: ["none", "strict"] },
    format: { enum: [...OUTBOUND_FORMATS] },
    trigger_words: { type: "array", minItems: 1, maxItems: MAX_TRIGGER_WORDS, items: { type: "string", minLength: 1, maxLength: 64, pattern: "^\\S+$" } },
    trigger_when: { enum: [...TRIGGER_WHEN] },
    event_types: { type: "array", minItems: 1, maxItems: MAX_FILTER_ENTRIES, items: { type: "string", minLength: 1, maxLength: 255 } },
    msgtypes: { type: "array", minItems: 1, maxItems: MAX_FILTER_ENTRIES, items: { type: "string", minLength: 1, maxLength: 255 } },
    content_type: { enum: [...CONTENT_TYPES] },
    ...CALLBACK_SCHEMA_PROPERTIES,
    ...BATCH_SCHEMA_PROPERTIES,
    tls_profile: { type: "string", minLength: 1, maxLength: 64 },
    transformation_function: { type: "string", minLength: 1, maxLength: MAX_TRANSFORMATION_FUNCTION_CHARS },
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
  if (Array.isArray(c.urls)) {
    c.urls.forEach((u, i) => {
      const problem = typeof u === "string" && u.length <= MAX_HOOK_URL_LENGTH ? checkHookUrl(u) : null;
      if (problem) problems.push(`urls/${i}: ${problem}`);
    });
  }
  if (shapeOk) problems.push(...callbackProblems(c as CallbackContent, knownCallbackCommand));
  problems.push(...batchProblems(c));
  if (typeof c.transformation_function === "string" && typeof c.format === "string" && !(EVENT_FORMATS as readonly string[]).includes(c.format)) {
    problems.push(`transformation_function: only hooks that send the event (format ${EVENT_FORMATS.join(", ")}) can shape their body with a function, not format ${c.format}`);
  }
  if (!shapeOk || problems.length > 0) return { ok: false, problems };
  const valid = content as HookContent;
  const urls = [...new Set([...(valid.url !== undefined ? [valid.url] : []), ...(valid.urls ?? [])])];
  return {
    ok: true,
    value: {
      name: valid.name,
      url: urls[0]!,
      urls,
      method: valid.method ?? (valid.format === undefined || valid.format === "hookshot" || valid.format === "hookshot-multipart" || valid.format === "json" ? "PUT" : "POST"),
      ordering: valid.ordering ?? "none",
      format: valid.format ?? null,
      filter: {
        eventTypes: valid.event_types ?? null,
        msgtypes: valid.msgtypes ?? null,
        triggerWords: valid.trigger_words ?? null,
        triggerWhen: valid.trigger_when ?? "first_word",
      },
      contentType: valid.content_type === "json" || valid.content_type === "application/json" ? "json" : "form",
      callback: callbackSettings(valid),
      tlsProfile: valid.tls_profile ?? null,
      batch: batchSettings(valid),
      ...(valid.transformation_function !== undefined ? { transformationFunction: valid.transformation_function } : {}),
    },
  };
}

/** A command word the tencent format sends, of the hook's phase. */
function knownCallbackCommand(word: string, phase: CallbackPhase): boolean {
  return isTencentCommand(word) && tencentCommandInfo(word).phase === phase;
}

interface HookContent extends CallbackContent, BatchContent {
  name: string;
  url?: string;
  urls?: string[];
  method?: OutboundMethod;
  ordering?: "none" | "strict";
  format?: OutboundFormat;
  trigger_words?: string[];
  trigger_when?: TriggerWhen;
  event_types?: string[];
  msgtypes?: string[];
  content_type?: (typeof CONTENT_TYPES)[number];
  tls_profile?: string;
  transformation_function?: string;
}

/** Empty content removes a hook (how Matrix "deletes" state). */
export function isRemoval(content: unknown): boolean {
  return content === null || content === undefined || (typeof content === "object" && Object.keys(content).length === 0);
}
