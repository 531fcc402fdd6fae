import {
  DEFAULT_BATCH_EVENTS, DEFAULT_BATCH_WAIT_MS, MAX_BATCH_EVENTS, MAX_BATCH_WAIT_MS, MIN_BATCH_EVENTS, MIN_BATCH_WAIT_MS, type BatchSettings,
} from "../delivery/batch.js";

/**
 * The `batch` field of an outbound hook's state: `{max_events?, max_wait_ms?}` (docs/batching.md).
 * Only hooks whose receivers take a JSON array of events may batch: formats hookshot and json, or
 * none named (delivery.defaultFormat). Chat platforms' webhooks and Tencent's callbacks expect one
 * message per request, hookshot-multipart one `event` part, and a transformation function's body
 * is its own: those refuse the field.
 */
export const BATCH_FORMATS = ["hookshot", "json"] as const;
const BATCH_KEYS = ["max_events", "max_wait_ms"] as const;

export const BATCH_SCHEMA_PROPERTIES = {
  batch: {
    type: "object",
    properties: {
      max_events: { type: "integer", minimum: MIN_BATCH_EVENTS, maximum: MAX_BATCH_EVENTS },
      max_wait_ms: { type: "integer", minimum: MIN_BATCH_WAIT_MS, maximum: MAX_BATCH_WAIT_MS },
    },
  },
} as const;

export interface BatchContent {
  format?: string;
  transformation_function?: string;
  batch?: { max_events?: number; max_wait_ms?: number };
}

/** Problems with `batch` in content (its shape is checked by the schema): unknown keys, and hooks that cannot batch. */
export function batchProblems(content: Readonly<Record<string, unknown>>): string[] {
  const batch = content.batch;
  if (batch === undefined || typeof batch !== "object" || batch === null || Array.isArray(batch)) return [];
  const problems: string[] = [];
  for (const key of Object.keys(batch)) {
    if (!(BATCH_KEYS as readonly string[]).includes(key)) problems.push(`batch/${key}: unknown setting (batch takes ${BATCH_KEYS.join(" and ")})`);
  }
  const format = content.format;
  if (typeof format === "string" && !(BATCH_FORMATS as readonly string[]).includes(format)) {
    problems.push(`batch: format ${format} sends one message per request, so it cannot batch (only ${BATCH_FORMATS.join(" and ")} can: a JSON array of events)`);
  }
  if (content.transformation_function !== undefined) {
    problems.push("batch: a hook with a transformation_function sends each body as the function shapes it, so it cannot batch");
  }
  return problems;
}

/** The batch settings of valid content, or null when the hook sends each event on its own. */
export function batchSettings(content: BatchContent): BatchSettings | null {
  if (!content.batch) return null;
  return { maxEvents: content.batch.max_events ?? DEFAULT_BATCH_EVENTS, maxWaitMs: content.batch.max_wait_ms ?? DEFAULT_BATCH_WAIT_MS };
}
