import { newQuickJSWASMModule, shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSWASMModule } from "quickjs-emscripten";

/** What a run may use. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
}

/** Why a function gave no usable result, as the room is told. */
/** "busy": the bridge had too many functions waiting to run this one (not the function's fault). */
export type TransformFailureKind = "syntax" | "thrown" | "timeout" | "memory" | "result" | "busy";

// No parameter properties in this file: the sandbox thread loads it with Node's type stripping.
export class TransformFailure extends Error {
  readonly kind: TransformFailureKind;

  constructor(kind: TransformFailureKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = "TransformFailure";
  }
}

/** The JSON of `result` may be this big at most (it becomes one Matrix event or one request body). */
export const MAX_RESULT_BYTES = 1_048_576;
/** Enough for ordinary recursion; deep recursion is a stack overflow, not a crash of the bridge. */
const MAX_STACK_BYTES = 256 * 1024;
/** Compile checks remembered, by source (a room rarely has more functions than this). */
const MAX_CHECKED_SOURCES = 500;

/**
 * Hookshot's environment: `data` (the payload, JSON-copied), `HookshotApiVersion`, and the script
 * as the body of a function (so a top-level `return` works), which sets the global `result`.
 * The result leaves the sandbox only as JSON text.
 */
const wrap = (source: string): string =>
  `const HookshotApiVersion = "v2"; const data = JSON.parse(globalThis.__hookData); delete globalThis.__hookData; (function () {\n${source}\n})();`;

/**
 * Runs JavaScript transformation functions in QuickJS compiled to WebAssembly: no file system,
 * network, process, timers or modules exist in there, only ECMAScript itself. Each run gets a
 * fresh runtime with a memory limit, a stack limit and an interrupt at its deadline, so nothing a
 * function does survives into the next run. A source's compile check is done once and remembered.
 */
export class JsSandbox {
  private readonly checked = new Map<string, TransformFailure | null>();
  private readonly quickjs: QuickJSWASMModule;
  private readonly limits: SandboxLimits;

  private constructor(quickjs: QuickJSWASMModule, limits: SandboxLimits) {
    this.quickjs = quickjs;
    this.limits = limits;
  }

  /** Loads the WebAssembly engine (its own instance, shared with nothing else in the process). */
  static async load(limits: SandboxLimits): Promise<JsSandbox> {
    return new JsSandbox(await newQuickJSWASMModule(), limits);
  }

  /** A syntax error in the source, or null; remembered per source. */
  check(source: string): TransformFailure | null {
    const known = this.checked.get(source);
    if (known !== undefined) return known;
    const failure = this.withContext(Date.now() + this.limits.timeoutMs, (ctx) => {
      const compiled = ctx.evalCode(wrapForCheck(source), "transformation.js", { compileOnly: true });
      if (compiled.error) {
        const message = errorText(ctx.dump(compiled.error));
        compiled.error.dispose();
        return new TransformFailure("syntax", message);
      }
      compiled.value.dispose();
      return null;
    });
    if (this.checked.size >= MAX_CHECKED_SOURCES) this.checked.delete(this.checked.keys().next().value as string);
    this.checked.set(source, failure);
    return failure;
  }

  /**
   * Runs `source` with `data` and returns its `result` (a JSON copy; undefined when unset).
   * Throws TransformFailure for a syntax error, a throw, the time or memory limit, or a result
   * that is not JSON or over MAX_RESULT_BYTES.
   */
  run(source: string, data: unknown): unknown {
    const syntax = this.check(source);
    if (syntax) throw syntax;
    const input = JSON.stringify(data ?? null);
    const deadline = Date.now() + this.limits.timeoutMs;
    const json = this.withContext(deadline, (ctx) => {
      const payload = ctx.newString(input);
      ctx.setProp(ctx.global, "__hookData", payload);
      payload.dispose();
      const ran = ctx.evalCode(`${wrap(source)}\n;(() => { const r = globalThis.result; return r === undefined ? undefined : JSON.stringify(r); })()`, "transformation.js");
      if (ran.error) {
        const dumped = ctx.dump(ran.error);
        ran.error.dispose();
        throw failureOf(dumped, Date.now() >= deadline);
      }
      const out = ctx.typeof(ran.value) === "string" ? ctx.getString(ran.value) : undefined;
      ran.value.dispose();
      return out;
    });
    if (json === undefined) return undefined;
    if (Buffer.byteLength(json) > MAX_RESULT_BYTES) throw new TransformFailure("result", `the result is larger than ${MAX_RESULT_BYTES} bytes as JSON`);
    return JSON.parse(json) as unknown;
  }

  private withContext<T>(deadline: number, use: (ctx: QuickJSContext) => T): T {
    const runtime = this.quickjs.newRuntime();
    try {
      runtime.setMemoryLimit(this.limits.memoryBytes);
      runtime.setMaxStackSize(MAX_STACK_BYTES);
      runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
      const ctx = runtime.newContext();
      try {
        return use(ctx);
      } finally {
        ctx.dispose();
      }
    } finally {
      runtime.dispose();
    }
  }
}

/** The same shape as a run: the source starts on line 2 of both. */
const wrapForCheck = (source: string): string => `(function () {\n${source}\n});`;

function failureOf(dumped: unknown, pastDeadline: boolean): TransformFailure {
  const text = errorText(dumped);
  if (/\binterrupted\b/i.test(text) && pastDeadline) return new TransformFailure("timeout", "the function ran out of time (interrupted at the time limit)");
  if (/out of memory|string too long/i.test(text)) return new TransformFailure("memory", "the function used more memory than allowed");
  if (/stack overflow|call stack size/i.test(text)) return new TransformFailure("memory", "the function recursed too deeply (stack overflow)");
  if (/^SyntaxError/.test(text)) return new TransformFailure("syntax", text);
  return new TransformFailure("thrown", text);
}

/** An error as QuickJS dumps it ({name, message, stack}), or whatever was thrown, as one short line. */
function errorText(dumped: unknown): string {
  let text: string;
  if (typeof dumped === "object" && dumped !== null && "message" in dumped) {
    const e = dumped as { name?: unknown; message?: unknown; stack?: unknown };
    const where = typeof e.stack === "string" ? /transformation\.js:(\d+)/.exec(e.stack) : null;
    text = `${String(e.name ?? "Error")}: ${String(e.message)}${where ? ` (line ${Math.max(1, Number(where[1]) - 1)})` : ""}`;
  } else {
    let shown: string;
    try {
      shown = JSON.stringify(dumped) ?? String(dumped);
    } catch {
      shown = String(dumped);
    }
    text = `threw ${shown}`;
  }
  return text.replace(/\s+/g, " ").slice(0, 300);
}
