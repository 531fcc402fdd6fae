import type { Readable } from "node:stream";
import { Agent, errors, type Dispatcher } from "undici";
import type { AttemptResult } from "./policy.js";
import { SSRF_BLOCKED, type SsrfGuard } from "../egress/ssrf.js";
import type { TlsMaterial } from "./tls-material.js";
import { TlsAlertProbe } from "./tls-probe.js";
import { isResetCode } from "./failure-category.js";

/** Distinct TLS materials with a connection pool of their own; past this, the least recently used pool closes. */
const MAX_TLS_AGENTS = 256;

export interface OutboundRequest {
  url: string;
  method: "PUT" | "POST";
  headers: Record<string, string>;
  body: string | Buffer | Readable;
  timeoutMs: number;
  /** Bytes of the answer to keep (default: the sender's diagnostics cap). */
  maxResponseBytes?: number;
  /** The hook's CA bundle and client certificate (https only); `id` names the material's connection pool. */
  tls?: TlsMaterial;
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
  /**
   * Set on a failure before any answer, when the attempt presented a TLS client certificate: a
   * receiver that refuses it often just closes the connection, with no TLS alert to name why.
   */
  presentedClientCertificate?: boolean;
}

/**
 * One HTTP attempt with undici: pooled connections, a hard per-attempt deadline, no redirects,
 * only the first bytes of the answer kept, and every connection made to an address the SSRF guard
 * checked (its lookup is the agent's). It uses undici's dispatch API directly: request() would
 * wrap every answer in a stream, which costs about a quarter of the CPU of a delivery's PUT.
 */
export class HttpSender {
  private readonly agent: Agent;
  /** One pool per distinct TLS material, most recently used last. */
  private readonly tlsAgents = new Map<string, Agent>();
  private readonly closing = new Set<Promise<void>>();
  private readonly targets = new Map<string, { origin: string; path: string }>();
  private readonly probe: TlsAlertProbe;

  constructor(
    private readonly maxResponseBodyBytes: number,
    private readonly guard: SsrfGuard,
  ) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 64, connect: { lookup: guard.lookup } });
    this.probe = new TlsAlertProbe({ lookup: guard.lookup });
  }

  /**
   * The pool for the request's TLS material. The hostname check stays on: a private CA is trusted
   * for the names its certificates carry, never instead of them.
   */
  private agentFor(req: OutboundRequest): Agent {
    const tls = req.tls;
    if (!tls) return this.agent;
    let agent = this.tlsAgents.get(tls.id);
    if (agent) {
      this.tlsAgents.delete(tls.id);
    } else {
      const { ca, cert, key, passphrase } = tls;
      agent = new Agent({ keepAliveTimeout: 10_000, connections: 16, connect: { lookup: this.guard.lookup, ca, cert, key, passphrase } });
      if (this.tlsAgents.size >= MAX_TLS_AGENTS) {
        const [oldestId, oldest] = this.tlsAgents.entries().next().value as [string, Agent];
        this.tlsAgents.delete(oldestId);
        // Requests in flight on it finish first.
        const closed: Promise<void> = oldest.close().catch(() => undefined).then(() => void this.closing.delete(closed));
        this.closing.add(closed);
      }
    }
    this.tlsAgents.set(tls.id, agent);
    return agent;
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
    let probing = false;
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
      const https = /^https:/i.test(req.url);
      const presented = !timeout && status === 0 && https && req.tls?.cert !== undefined;
      const code = timeout ? null : errorCode(err);
      const outcome = (alert: string | null): Omit<SendOutcome, "durationMs"> => ({
        result: timeout ? { kind: "timeout" } : { kind: "network", error: describeError(err) },
        responseBody: null,
        error: timeout ? `no answer within ${req.timeoutMs} ms` : alert ? `${alert}: the receiver's TLS alert, read from a second handshake (${describeError(err)})` : describeError(err),
        code: alert ?? code,
        ...(presented ? { presentedClientCertificate: true } : {}),
      });
      // Closed before any answer on https: a TLS 1.3 receiver refusing the client certificate
      // looks like this; one more handshake reads its alert, if it sends one.
      if (https && status === 0 && code !== null && isResetCode(code)) {
        if (finished || probing) return;
        probing = true;
        clearTimeout(deadline);
        const left = req.timeoutMs - (performance.now() - started);
        void this.probe.alert(req.url, req.tls, Math.min(2000, Math.max(100, left))).then((alert) => finish(outcome(alert)), () => finish(outcome(null)));
        return;
      }
      finish(outcome(null));
    };
    // The whole attempt, slow drip included, ends at the deadline.
    const deadline = setTimeout(() => {
      timedOut = true;
      if (controller) controller.abort(new Error("deadline"));
      else failed(new Error("deadline"));
    }, req.timeoutMs);
    try {
      const { origin, path } = this.target(req.url);
      this.agentFor(req).dispatch(
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
    const agents = [this.agent, ...this.tlsAgents.values()];
    this.tlsAgents.clear();
    await Promise.all([...agents.map((agent) => agent.close()), ...this.closing]);
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
