import { CALLBACK_PHASES, FAILURE_POLICIES } from "../connections/callback-state.js";
import { OUTBOUND_FORMATS } from "../connections/outbound-hook-state.js";
import { TRIGGER_WHEN } from "../outbound/hook-filter.js";
import { CommandError } from "./command-error.js";

/**
 * The optional fields of an outbound hook's state that commands set: the command's name for each
 * (`--trigger`, `set <name> trigger …`), the state field, and how its words become the value.
 */
interface Setting {
  field: string;
  /** A key inside the field's object (`batch.max_events`); the object is created when missing. */
  sub?: string;
  /** How the value is written in a command. */
  shape: string;
  parse(value: string): unknown;
}

const list = (value: string): string[] => value.split(",").map((v) => v.trim()).filter((v) => v.length > 0);
const oneOf = (allowed: readonly string[]) => (value: string) => {
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!match) throw new CommandError(`"${value}" must be one of ${allowed.join(", ")}.`);
  return match;
};

const onOff = (value: string): boolean => {
  const word = value.toLowerCase();
  if (["on", "true", "yes"].includes(word)) return true;
  if (["off", "false", "no"].includes(word)) return false;
  throw new CommandError(`"${value}" must be on or off.`);
};
const whole = (value: string): number | string => (/^\d{1,9}$/.test(value) ? Number(value) : value);

export const HOOK_SETTINGS: ReadonlyMap<string, Setting> = new Map<string, Setting>([
  ["trigger", { field: "trigger_words", shape: "WORD[,WORD…]", parse: list }],
  ["trigger-when", { field: "trigger_when", shape: TRIGGER_WHEN.join("|"), parse: oneOf(TRIGGER_WHEN) }],
  ["events", { field: "event_types", shape: "TYPE[,TYPE…]", parse: list }],
  ["msgtypes", { field: "msgtypes", shape: "MSGTYPE[,MSGTYPE…]", parse: list }],
  ["urls", { field: "urls", shape: "URL[,URL…]", parse: list }],
  ["format", { field: "format", shape: OUTBOUND_FORMATS.join("|"), parse: oneOf(OUTBOUND_FORMATS) }],
  ["content-type", { field: "content_type", shape: "form|json", parse: oneOf(["form", "json"]) }],
  ["method", { field: "method", shape: "PUT|POST", parse: (v) => oneOf(["PUT", "POST"])(v.toUpperCase()) }],
  ["ordering", { field: "ordering", shape: "none|strict", parse: oneOf(["none", "strict"]) }],
  // Callbacks (format tencent): see src/connections/callback-state.ts.
  ["phase", { field: "phase", shape: CALLBACK_PHASES.join("|"), parse: oneOf(CALLBACK_PHASES) }],
  ["commands", { field: "callback_commands", shape: "COMMAND[,COMMAND…]", parse: list }],
  ["sdk-app-id", { field: "sdk_app_id", shape: "DIGITS", parse: (v) => v }],
  ["sign", { field: "sign", shape: "on|off", parse: onOff }],
  ["retry", { field: "retry", shape: "on|off", parse: onOff }],
  ["timeout-ms", { field: "timeout_ms", shape: "MILLISECONDS", parse: whole }],
  ["on-failure", { field: "on_failure", shape: FAILURE_POLICIES.join("|"), parse: oneOf(FAILURE_POLICIES) }],
  ["tls-profile", { field: "tls_profile", shape: "PROFILE", parse: (value) => value }],
  // Batched deliveries: see docs/batching.md and src/connections/batch-state.ts.
  ["batch", { field: "batch", shape: "on|off", parse: (v) => (onOff(v) ? {} : undefined) }],
  ["batch-max-events", { field: "batch", sub: "max_events", shape: "EVENTS", parse: whole }],
  ["batch-max-wait-ms", { field: "batch", sub: "max_wait_ms", shape: "MILLISECONDS", parse: whole }],
]);

/** The settings' names, for help texts. */
export const SETTING_NAMES = [...HOOK_SETTINGS.keys()].join(", ");

/** Words that clear a setting (the field is left out of the state). */
const CLEARING = new Set(["none", "off", "-"]);

/** The state fields a command's `--option value` pairs ask for. */
export function settingsFromOptions(options: Readonly<Record<string, string>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    const setting = HOOK_SETTINGS.get(name);
    if (!setting) continue;
    if (setting.sub !== undefined) fields[setting.field] = { ...objectField(fields, setting.field), [setting.sub]: setting.parse(value) };
    else if (setting.field === "batch") {
      if (setting.parse(value) === undefined) delete fields.batch;
      else fields.batch = objectField(fields, "batch");
    } else fields[setting.field] = setting.parse(value);
  }
  return fields;
}

/** The object a sub-setting lives in: a copy of the field's, or a new one. */
function objectField(content: Readonly<Record<string, unknown>>, field: string): Record<string, unknown> {
  const value = content[field];
  return typeof value === "object" && value !== null && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
}

/**
 * The hook's state content with one setting changed (or cleared with "none"); the rest, fields of
 * Hookshot and of later versions included, is kept as it is.
 */
export function withSetting(content: Readonly<Record<string, unknown>>, name: string, value: string | undefined): Record<string, unknown> {
  const setting = HOOK_SETTINGS.get(name);
  if (!setting) throw new CommandError(`Unknown setting "${name}". Settings: ${[...HOOK_SETTINGS.keys()].join(", ")}.`);
  const next = { ...content };
  if (setting.sub !== undefined) {
    const clearing = value === undefined || CLEARING.has(value.toLowerCase());
    // Clearing a sub-setting of a field that is not there changes nothing (it does not turn batching on).
    if (clearing && next[setting.field] === undefined) return next;
    const inner = objectField(next, setting.field);
    if (clearing) delete inner[setting.sub];
    else inner[setting.sub] = setting.parse(value);
    next[setting.field] = inner;
    return next;
  }
  if (value === undefined || CLEARING.has(value.toLowerCase())) {
    if (setting.field === "method" || setting.field === "format") throw new CommandError(`"${name}" cannot be cleared; give one of ${setting.shape}.`);
    delete next[setting.field];
  } else {
    const parsed = setting.parse(value);
    if (parsed === undefined) delete next[setting.field];
    // "batch on" keeps the batch settings there are.
    else if (setting.field === "batch") next[setting.field] = objectField(next, setting.field);
    else next[setting.field] = parsed;
  }
  return next;
}

/** The command options for the settings, for `outbound add`. */
export function settingOptions(): Record<string, { values: readonly string[]; description: string; placeholder: string }> {
  const options: Record<string, { values: readonly string[]; description: string; placeholder: string }> = {};
  for (const [name, setting] of HOOK_SETTINGS) {
    if (name === "method") continue;
    options[name] = { values: [], placeholder: setting.shape, description: `the hook's ${setting.field}${setting.sub ? `.${setting.sub}` : ""}` };
  }
  return options;
}
