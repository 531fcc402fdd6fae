// A real HTTP receiver on 127.0.0.1 that records every request and answers as a test scripts it.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export type Responder = (req: ReceivedRequest, index: number) => { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private responder: Responder = () => ({ status: 200, body: "ok" });

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const recorded: ReceivedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
        const index = receiver!.requests.push(recorded) - 1;
        const answer = receiver!.responder(recorded, index);
        const reply = () => {
          res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
          res.end(answer.body ?? "");
        };
        if (answer.delayMs) setTimeout(reply, answer.delayMs);
        else reply();
      });
    });
    receiver = new Receiver(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  /** Requests whose JSON body matches, parsed. */
  json<T = Record<string, unknown>>(filter: (body: T, req: ReceivedRequest) => boolean = () => true): Array<{ req: ReceivedRequest; body: T }> {
    const out: Array<{ req: ReceivedRequest; body: T }> = [];
    for (const req of this.requests) {
      try {
        const body = JSON.parse(req.body.toString("utf8")) as T;
        if (filter(body, req)) out.push({ req, body });
      } catch {
        // not JSON: not counted
      }
    }
    return out;
  }

  /** Waits (polling every 20 ms, bounded) until `count` requests match. */
  async waitFor(filter: (req: ReceivedRequest) => boolean, count = 1, timeoutMs = 15_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.requests.filter(filter);
      if (hits.length >= count) return hits;
      if (Date.now() > deadline) {
        throw new Error(`receiver got ${hits.length} of ${count} matching requests within ${timeoutMs} ms (${this.requests.length} in all)`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export const forEvent = (eventId: string) => (req: ReceivedRequest) => req.headers["x-matrix-hookshot-eventid"] === eventId;
