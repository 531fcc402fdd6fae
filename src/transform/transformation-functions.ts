import { createHash } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import { inboundTransformOf, outboundTransformOf, type InboundTransform, type OutboundTransform } from "./hookshot-result.js";
import { TransformFailure, type SandboxLimits } from "./sandbox.js";
import { ThreadedSandbox } from "./threaded-sandbox.js";

/** The hook a function belongs to, as far as reporting goes. */
export interface TransformHook {
  id: string;
  roomId: string;
  name: string;
}

export interface TransformationFunctionsOptions {
  /** config inbound.transformationFunctions: off, functions in state are ignored. */
  enabled: boolean;
  limits: SandboxLimits;
  /** Tells a room something about one of its hooks. */
  notify(roomId: string, text: string): void;
  log: Logger;
}

export type Transformed<T> = { ok: true; value: T } | { ok: false; failure: TransformFailure };

/** Failures remembered per hook (one function each); a room rarely holds more hooks than this. */
const MAX_REPORTED_HOOKS = 10_000;

/**
 * Runs hooks' transformation functions (inbound: Hookshot's contract; outbound: the body sent) and
 * tells the room about a failing function once per hook and function: a changed function that
 * fails again is told again, the same one failing on every request is not. Functions run on
 * their own thread (ThreadedSandbox), started on first use.
 */
export class TransformationFunctions {
  private readonly sandbox: ThreadedSandbox;
  /** hook id → digest of the function whose failure the room was told about ("disabled": that it is not run). */
  private readonly reported = new Map<string, string>();

  constructor(private readonly opts: TransformationFunctionsOptions) {
    this.sandbox = new ThreadedSandbox(opts.limits);
  }

  /** Ends the functions' thread (a run under way fails). */
  stop(): Promise<void> {
    return this.sandbox.stop();
  }

  get enabled(): boolean {
    return this.opts.enabled;
  }

  /** The function of a hook that is run: none when the feature is off (the room is told once that it is ignored). */
  sourceOf(hook: TransformHook & { transformationFunction?: string | null }): string | null {
    const source = hook.transformationFunction;
    if (!source) return null;
    if (this.opts.enabled) return source;
    if (this.remember(hook.id, "disabled")) {
      this.opts.notify(hook.roomId, `Hook "${hook.name}" has a transformation function, but this bridge does not run them (config inbound.transformationFunctions.enabled is false): it works as if it had none.`);
    }
    return null;
  }

  async inbound(hook: TransformHook, source: string, payload: unknown): Promise<Transformed<InboundTransform>> {
    return this.run(hook, source, payload, "inbound", inboundTransformOf);
  }

  async outbound(hook: TransformHook, source: string, event: unknown): Promise<Transformed<OutboundTransform>> {
    return this.run(hook, source, event, "outbound", outboundTransformOf);
  }

  private async run<T>(hook: TransformHook, source: string, data: unknown, direction: "inbound" | "outbound", read: (result: unknown) => T): Promise<Transformed<T>> {
    try {
      return { ok: true, value: read(await this.sandbox.run(source, data)) };
    } catch (err) {
      if (!(err instanceof TransformFailure)) throw err;
      this.report(hook, source, direction, err);
      return { ok: false, failure: err };
    }
  }

  private report(hook: TransformHook, source: string, direction: "inbound" | "outbound", failure: TransformFailure): void {
    const digest = createHash("sha256").update(source).digest("hex");
    this.opts.log.warn({ hookId: hook.id, roomId: hook.roomId, hook: hook.name, direction, kind: failure.kind, error: failure.message }, "transformation function failed");
    // Too many waiting is the bridge's load, not this function's failure: logged, not told (nor remembered).
    if (failure.kind === "busy") return;
    if (this.remember(hook.id, digest)) this.opts.notify(hook.roomId, failureNotice(hook.name, direction, failure));
  }

  /** Whether this is news for the hook (then remembered): one notice per hook and function. */
  private remember(hookId: string, what: string): boolean {
    if (this.reported.get(hookId) === what) return false;
    if (!this.reported.has(hookId) && this.reported.size >= MAX_REPORTED_HOOKS) this.reported.delete(this.reported.keys().next().value as string);
    this.reported.set(hookId, what);
    return true;
  }
}

const WHAT_HAPPENS = {
  inbound: "Its requests are posted as if it had no function (the payload's default rendering) until the function is fixed.",
  outbound: "Its deliveries are given up (dead letters, which can be replayed once the function is fixed).",
} as const;

/** The room's notice: which hook, what went wrong, what happens meanwhile. Said once per function. */
export function failureNotice(hookName: string, direction: "inbound" | "outbound", failure: TransformFailure): string {
  const kind = direction === "inbound" ? "inbound hook" : "outbound hook";
  return `The transformation function of ${kind} "${hookName}" failed: ${failure.message}. ${WHAT_HAPPENS[direction]} ` +
    "This is said once per function; the bridge's log has every failure.";
}
