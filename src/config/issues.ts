import type { AnySchemaObject as SchemaObject, ErrorObject } from "ajv";
import type { ConfigIssue } from "./errors.js";
import { FORMATS } from "./formats.js";
import { closestKey } from "./suggest.js";

/**
 * Turns ajv's errors (compiled with `verbose: true`, so each carries its schema and data) into
 * issues that name the dotted key path and say what was expected.
 */
export function issuesFromAjv(errors: readonly ErrorObject[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // A bad key name is reported by the error about the name itself (below).
    if (error.keyword === "propertyNames") continue;
    const issue = toIssue(error);
    const key = `${issue.path}\n${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

function toIssue(error: ErrorObject): ConfigIssue {
  const at = pathFromPointer(error.instancePath);
  const parent: SchemaObject = error.parentSchema ?? {};
  const known: Record<string, SchemaObject> = parent.properties ?? {};
  if (error.propertyName !== undefined) {
    return { path: joinPath(at, error.propertyName), message: "is not an allowed name: use letters, digits, '.', '_' and '-' (at most 64 characters, starting with a letter or digit)" };
  }
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(error.params.additionalProperty);
      const suggestion = closestKey(key, Object.keys(known));
      const hint = suggestion === undefined ? `expected one of: ${Object.keys(known).join(", ")}` : `did you mean "${suggestion}"?`;
      return { path: joinPath(at, key), message: `unknown key (${hint})` };
    }
    case "required": {
      const key = String(error.params.missingProperty);
      const expected = known[key] === undefined ? "" : ` (expected ${describeExpected(known[key])})`;
      return { path: joinPath(at, key), message: `is required${expected}` };
    }
    default:
      return { path: at, message: `must be ${describeExpected(parent)} (got ${showValue(error.data, at)})` };
  }
}

/** Words for what a schema accepts: "an integer between 0 and 100", "an http(s) URL … or null". */
export function describeExpected(schema: SchemaObject): string {
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  const main = types.find((type) => type !== "null");
  const text = describeType(schema, main);
  return types.includes("null") ? `${text} or null` : text;
}

function describeType(schema: SchemaObject, type: string | undefined): string {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((value) => JSON.stringify(value)).join(", ")}`;
  if (typeof schema.format === "string" && Object.hasOwn(FORMATS, schema.format)) return FORMATS[schema.format as keyof typeof FORMATS].expected;
  switch (type) {
    case "integer":
      return `an integer${describeRange(schema)}`;
    case "number":
      return `a number${describeRange(schema)}`;
    case "boolean":
      return "true or false";
    case "string": {
      const base = (schema.minLength ?? 0) > 0 ? "a non-empty string" : "a string";
      return schema.maxLength === undefined ? base : `${base} of at most ${schema.maxLength} characters`;
    }
    case "array": {
      const list = (schema.minItems ?? 0) > 0 ? `a list with at least ${schema.minItems} ${schema.minItems === 1 ? "entry" : "entries"}` : "a list";
      return schema.items === undefined ? list : `${list}, each entry ${describeExpected(schema.items)}`;
    }
    case "object":
      return "a mapping (key: value lines)";
    default:
      return "a valid value";
  }
}

function describeRange(schema: SchemaObject): string {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  if (minimum !== undefined && maximum !== undefined) return ` between ${minimum} and ${maximum}`;
  const bounds = [
    minimum !== undefined ? `>= ${minimum}` : exclusiveMinimum !== undefined ? `> ${exclusiveMinimum}` : undefined,
    maximum !== undefined ? `<= ${maximum}` : exclusiveMaximum !== undefined ? `< ${exclusiveMaximum}` : undefined,
  ].filter((bound) => bound !== undefined);
  return bounds.length === 0 ? "" : ` ${bounds.join(" and ")}`;
}

/** Keys whose values must never be echoed in an error. */
const SECRET_PATHS = new Set(["store.encryptionKey", "store.postgres.url"]);

/** A short rendering of a bad value for "(got …)"; secrets only show their kind. */
export function showValue(value: unknown, path: string): string {
  if (value === undefined) return "nothing";
  if (SECRET_PATHS.has(path)) return kindOf(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

/** "/delivery/retrySchedule/2" → "delivery.retrySchedule[2]". */
export function pathFromPointer(pointer: string): string {
  if (pointer === "") return "";
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : joinPath(path, segment)), "");
}

export function joinPath(path: string, key: string): string {
  const part = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return path === "" ? part : `${path}.${part}`;
}
