/**
 * What a Matrix homeserver can store. Events are canonical JSON, which allows only integers in
 * [-(2^53)+1, 2^53-1] (no fractions, no exponents: Synapse refuses the event with M_BAD_JSON),
 * and their text must be valid Unicode (a lone surrogate cannot be written as UTF-8: Synapse
 * answers 500). Foreign JSON is made to fit before it goes into an event.
 */

/** The homeserver's replacement for what it cannot store: U+FFFD REPLACEMENT CHARACTER. */
export const REPLACEMENT = "\uFFFD";

/** The string with each lone surrogate replaced by U+FFFD (ES2024's toWellFormed; the project's TS lib is older). */
export const wellFormed = (s: string): string => (s as string & { toWellFormed(): string }).toWellFormed();

/**
 * Parses JSON keeping every number canonical JSON cannot hold as a string of its exact source
 * text (`3.14` → `"3.14"`, `12345678901234567891` → `"12345678901234567891"`); integers in range
 * stay numbers. Node 22 and later give a reviver the source text; where it is missing, the
 * number as JavaScript reads it is used (digits beyond double precision are then lost).
 */
export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === "number" && !Number.isSafeInteger(value) ? (context?.source ?? numberText(value)) : value,
  );
}

/** A number's decimal text; integers in full (2^60 → "1152921504606846976", where String gives "…847000"). */
export const numberText = (n: number): string => (Number.isInteger(n) ? BigInt(n).toString() : String(n));

/** Whether a number can go into an event as a number. */
export const isCanonicalNumber = (n: number): boolean => Number.isSafeInteger(n);

/**
 * A copy of JSON-like data the homeserver accepts: every string and key well-formed (lone
 * surrogates → U+FFFD), every number that is not a safe integer turned into its decimal string.
 * Keys are copied as own properties, `__proto__` included. When two keys become the same after
 * the replacement, the later one wins. `depth` bounds the walk (inbound JSON is capped at 64).
 */
export function matrixSafe(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return wellFormed(value);
  if (typeof value === "number") return isCanonicalNumber(value) ? value : numberText(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth > 200) return null;
  if (Array.isArray(value)) return value.map((v) => matrixSafe(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    Object.defineProperty(out, wellFormed(key), { value: matrixSafe(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Whether a parsed value holds a number canonical JSON cannot carry (walks iteratively, bounded by the caller's depth check). */
export function hasNonCanonicalNumber(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "number") {
      if (!isCanonicalNumber(node)) return true;
    } else if (typeof node === "object" && node !== null) {
      for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push(child);
    }
  }
  return false;
}
