/**
 * The callback fields of an outbound hook with `format: "tencent"` (Tencent Chat's webhook model):
 * whether it judges messages before they are sent or hears of events after, which command words
 * it takes, and how it is called. Read from room state beside the hook's other fields.
 */
export const CALLBACK_PHASES = ["after", "before"] as const;
export type CallbackPhase = (typeof CALLBACK_PHASES)[number];
/** What a before-hook's failure (timeout, connection error, non-200, unusable answer) means for the message. */
export const FAILURE_POLICIES = ["allow", "reject"] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** Tencent's own timeout for its callbacks. */
export const DEFAULT_CALLBACK_TIMEOUT_MS = 2000;
export const MIN_CALLBACK_TIMEOUT_MS = 100;
export const MAX_CALLBACK_TIMEOUT_MS = 10_000;
export const MAX_CALLBACK_COMMANDS = 20;

export interface CallbackSettings {
  phase: CallbackPhase;
  /** Tencent command words taken; null: every command word of the phase. */
  commands: readonly string[] | null;
  /** Tencent's `SdkAppid` query parameter, which app backends check. */
  sdkAppId: string;
  /** Whether requests carry Tencent's `Sign` (sha256 of the hook's token and `RequestTime`). */
  sign: boolean;
  /** After-callbacks: whether a failed call is retried (Tencent: not by default). */
  retry: boolean;
  timeoutMs: number;
  /** Before-callbacks: what a failure means for the message. */
  onFailure: FailurePolicy;
}

/** Fields of the hook's state that only a callback (format tencent) reads. */
export const CALLBACK_FIELDS = ["phase", "callback_commands", "sdk_app_id", "sign", "retry", "timeout_ms", "on_failure"] as const;

/** JSON-schema properties of the callback fields (merged into the outbound hook schema). */
export const CALLBACK_SCHEMA_PROPERTIES = {
  phase: { enum: [...CALLBACK_PHASES] },
  callback_commands: { type: "array", minItems: 1, maxItems: MAX_CALLBACK_COMMANDS, items: { type: "string", pattern: "^[A-Z][A-Za-z]*\\.Callback[A-Za-z]+$" } },
  sdk_app_id: { anyOf: [{ type: "string", pattern: "^[0-9]{1,20}$" }, { type: "integer", minimum: 0 }] },
  sign: { type: "boolean" },
  retry: { type: "boolean" },
  timeout_ms: { type: "integer", minimum: MIN_CALLBACK_TIMEOUT_MS, maximum: MAX_CALLBACK_TIMEOUT_MS },
  on_failure: { enum: [...FAILURE_POLICIES] },
} as const;

export interface CallbackContent {
  format?: string;
  phase?: CallbackPhase;
  callback_commands?: string[];
  sdk_app_id?: string | number;
  sign?: boolean;
  retry?: boolean;
  timeout_ms?: number;
  on_failure?: FailurePolicy;
}

/**
 * Problems with the callback fields of content whose shape is already valid: they belong to
 * format tencent only, and a command word must be known for the hook's phase.
 */
export function callbackProblems(content: CallbackContent, knownCommand: (word: string, phase: CallbackPhase) => boolean): string[] {
  const set = CALLBACK_FIELDS.filter((f) => content[f] !== undefined);
  if (content.format !== "tencent") return set.map((f) => `${f}: only a hook with format tencent reads it`);
  const phase = content.phase ?? "after";
  const problems: string[] = [];
  (content.callback_commands ?? []).forEach((word, i) => {
    if (!knownCommand(word, phase)) problems.push(`callback_commands/${i}: "${word}" is not ${phase === "after" ? "an after" : "a before"}-event command word this bridge sends`);
  });
  if (phase === "after" && content.on_failure !== undefined) problems.push("on_failure: only a before-hook (phase before) reads it");
  if (phase === "before" && content.retry !== undefined) problems.push("retry: a before-hook is never retried (the message cannot wait)");
  return problems;
}

/** The callback settings of valid content, or null when the hook is not a callback. */
export function callbackSettings(content: CallbackContent): CallbackSettings | null {
  if (content.format !== "tencent") return null;
  return {
    phase: content.phase ?? "after",
    commands: content.callback_commands ? [...new Set(content.callback_commands)] : null,
    sdkAppId: content.sdk_app_id === undefined ? "0" : String(content.sdk_app_id),
    sign: content.sign ?? true,
    retry: content.retry ?? false,
    timeoutMs: content.timeout_ms ?? DEFAULT_CALLBACK_TIMEOUT_MS,
    onFailure: content.on_failure ?? "allow",
  };
}
