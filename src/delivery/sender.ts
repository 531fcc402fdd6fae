import type { Readable } from "node:stream";
import { Agent, request, errors } from "undici";
import type { AttemptResult } from "./policy.js";
import { SSRF_BLOCKED, type SsrfGuard } from "./ssrf.js";

export interface OutboundRequest {
  url: string;
  method: "PUT" | "POST";
  headers: Record<string, string>;
  body: string | Buffer | Readable;
  timeoutMs: number;
}

export interface SendOutcome {
  result: AttemptResult;
  durationMs: number;
  /** The start of the receiver's answer, for diagnostics. */
  responseBody: string | null;
  error: string | null;
}

/**
 * One HTTP attempt with undici: pooled connections, a hard per-attempt deadline, no redirects
 * (undici's request() follows none), only the first bytes of the answer kept, and every
 * connection made to an address the SSRF guard checked (its lookup is the agent's).
 */
export class HttpSender {
  private readonly agent: Agent;

  constructor(
    private readonly maxResponseBodyBytes: number,
    private readonly guard: SsrfGuard,
  ) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 64, connect: { lookup: guard.lookup } });
  }

  async send(req: OutboundRequest): Promise<SendOutcome> {
    const started = performance.now();
    // A timer cleared as soon as the attempt ends: AbortSignal.timeout would keep every attempt's
    // signal and timer alive for the whole timeout, piling up under load.
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), req.timeoutMs);
    const signal = abort.signal;
    try {
      this.guard.assertSendable(req.url);
      const res = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: this.agent,
        signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      // A short answer of known length is read in one go; others are streamed up to the cap.
      const length = Number(res.headers["content-length"] ?? NaN);
      const responseBody = length <= this.maxResponseBodyBytes ? await res.body.text() : await readCapped(res.body, this.maxResponseBodyBytes);
      const retryAfter = res.headers["retry-after"];
      return {
        result: { kind: "response", status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter },
        durationMs: elapsed(started),
        responseBody,
        error: null,
      };
    } catch (err) {
      const blocked = findBlocked(err);
      if (blocked) return { result: { kind: "refused", reason: blocked }, durationMs: elapsed(started), responseBody: null, error: blocked };
      const timedOut = signal.aborted || err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError || err instanceof errors.ConnectTimeoutError;
      const message = describeError(err);
      return {
        result: timedOut ? { kind: "timeout" } : { kind: "network", error: message },
        durationMs: elapsed(started),
        responseBody: null,
        error: timedOut ? `no answer within ${req.timeoutMs} ms` : message,
      };
    } finally {
      clearTimeout(deadline);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const elapsed = (started: number): number => Math.round(performance.now() - started);

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, max).toString("utf8");
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** The SSRF guard's refusal, wherever undici put it in the cause chain. */
function findBlocked(err: unknown): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: string }).code === SSRF_BLOCKED) return e.message;
  }
  return null;
}
