import type { Readable } from "node:stream";
import { Agent, errors, type Dispatcher } from "undici";
import type { AttemptResult } from "./policy.js";
import { SSRF_BLOCKED, type SsrfGuard } from "../egress/ssrf.js";

export interface OutboundRequest {
  url: string;
  method: "PUT" | "POST";
  headers: Record<string, string>;
  body: string | Buffer | Readable;
  timeoutMs: number;
  /** Bytes of the answer to keep (default: the sender's diagnostics cap). */
  maxResponseBytes?: number;
}

export interface SendOutcome {
  result: AttemptResult;
  durationMs: number;
  /** The start of the receiver's answer, for diagnostics (and a chat format's reply). */
  responseBody: string | null;
  /** The answer's Content-Type, when it had one. */
  responseContentType?: string | null;
  /** True when the answer was longer than the bytes kept. */
  responseCut?: boolean;
  error: string | null;
  /** The error's code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_SSRF_BLOCKED …), for classifying failures. */
  code?: string | null;
}

/**
 * One HTTP attempt with undici: pooled connections, a hard per-attempt deadline, no redirects,
 * only the first bytes of the answer kept, and every connection made to an address the SSRF guard
 * checked (its lookup is the agent's). It uses undici's dispatch API directly: request() would
 * wrap every answer in a stream, which costs about a quarter of the CPU of a delivery's PUT.
 */
export class HttpSender {
  private readonly agent: Agent;
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(
    private readonly maxResponseBodyBytes: number,
    private readonly guard: SsrfGuard,
  ) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 64, connect: { lookup: guard.lookup } });
  }

  send(req: OutboundRequest): Promise<SendOutcome> {
    const started = performance.now();
    try {
      this.guard.assertSendable(req.url);
    } catch (err) {
      const reason = findBlocked(err) ?? describeError(err);
      return Promise.resolve({ result: { kind: "refused", reason }, durationMs: elapsed(started), responseBody: null, error: reason, code: SSRF_BLOCKED });
    }
    return new Promise<SendOutcome>((resolve) => this.dispatch(req, started, resolve));
  }

  private dispatch(req: OutboundRequest, started: number, resolve: (outcome: SendOutcome) => void): void {
    const max = req.maxResponseBytes ?? this.maxResponseBodyBytes;
    let controller: Dispatcher.DispatchController | null = null;
    let timedOut = false;
    let finished = false;
    let status = 0;
    let retryAfter: string | undefined;
    let contentType: string | null = null;
    let cut = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (outcome: Omit<SendOutcome, "durationMs">): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      resolve({ ...outcome, durationMs: elapsed(started) });
    };
    const answered = (): void =>
      finish({ result: { kind: "response", status, retryAfter }, responseBody: Buffer.concat(chunks).subarray(0, max).toString("utf8"), responseContentType: contentType, responseCut: cut, error: null });
    const failed = (err: unknown): void => {
      const blocked = findBlocked(err);
      if (blocked) return finish({ result: { kind: "refused", reason: blocked }, responseBody: null, error: blocked, code: SSRF_BLOCKED });
      const timeout = timedOut || err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError || err instanceof errors.ConnectTimeoutError;
      finish({
        result: timeout ? { kind: "timeout" } : { kind: "network", error: describeError(err) },
        responseBody: null,
        error: timeout ? `no answer within ${req.timeoutMs} ms` : describeError(err),
        code: timeout ? null : errorCode(err),
      });
    };
    // The whole attempt, slow drip included, ends at the deadline.
    const deadline = setTimeout(() => {
      timedOut = true;
      if (controller) controller.abort(new Error("deadline"));
      else failed(new Error("deadline"));
    }, req.timeoutMs);
    try {
      const { origin, path } = this.target(req.url);
      this.agent.dispatch(
        { origin, path, method: req.method, headers: req.headers, body: req.body, headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs },
        {
          onRequestStart: (c) => {
            controller = c;
            if (timedOut) c.abort(new Error("deadline"));
          },
          onResponseStart: (_c, statusCode, headers) => {
            status = statusCode;
            const value = headers["retry-after"];
            retryAfter = Array.isArray(value) ? value[0] : value;
            const type = headers["content-type"];
            contentType = (Array.isArray(type) ? type[0] : type) ?? null;
          },
          onResponseData: (c, chunk) => {
            chunks.push(chunk);
            size += chunk.length;
            // Enough for diagnostics: stop reading (the connection is dropped) and report what came.
            if (size >= max) {
              cut = size > max;
              answered();
              c.abort(new Error("response body cap reached"));
            }
          },
          onResponseEnd: () => answered(),
          onResponseError: (_c, err) => failed(err),
        },
      );
    } catch (err) {
      failed(err);
    }
  }

  /** Origin and path of a hook URL, parsed once per URL. */
  private target(url: string): { origin: string; path: string } {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const elapsed = (started: number): number => Math.round(performance.now() - started);

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = errorCode(err);
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** The error's code, or its cause's (undici wraps some). */
export function errorCode(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : null;
}

/** The SSRF guard's refusal, wherever undici put it in the cause chain. */
function findBlocked(err: unknown): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: string }).code === SSRF_BLOCKED) return e.message;
  }
  return null;
}
