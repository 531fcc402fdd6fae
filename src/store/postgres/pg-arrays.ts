// An array parameter for the hot statements, written the fast way when that gives the same value.
//
// pg writes an array parameter as a literal built by string concatenation and two replace()s per
// element: in the benchmark's paced phase that made a third of the appservice process's garbage
// and a fifth of a worker's. JSON.stringify writes the same values in one native pass, and for
// most arrays its output is already a PostgreSQL array literal once its brackets are braces:
// numbers, booleans and null as they are, and texts in double quotes with `"` and `\` escaped by
// a backslash, as PostgreSQL reads them. Only texts with a control character or a lone surrogate
// differ (JSON writes `\n` or `\ud800`, which PostgreSQL would read as `n` or `ud800`): such an
// array is left to pg.

const CONTROL = /[\u0000-\u001f]/;

/** The array as a PostgreSQL array literal, or the array itself (for pg to write) when a text in it would not survive JSON's escapes. */
export function pgArray<T extends string | number | boolean | null>(values: readonly T[]): string | readonly T[] {
  for (const v of values) if (typeof v === "string" && (CONTROL.test(v) || !v.isWellFormed())) return values;
  const json = JSON.stringify(values);
  return `{${json.slice(1, -1)}}`;
}
