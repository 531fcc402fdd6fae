import type { ErrorObject } from "ajv";

/** Ajv's errors for a state event's content as "field: what is wrong" lines for a room notice. */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const field = error.instancePath.replace(/^\//, "") || (error.params as { missingProperty?: string }).missingProperty || "content";
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
    return `${field}: ${error.keyword === "enum" && allowed ? `must be one of ${allowed.join(", ")}` : (error.message ?? "is invalid")}`;
  });
}
