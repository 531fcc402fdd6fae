// A sample webhook receiver for `--demo`: a real HTTP server on 127.0.0.1 that prints each
// delivery (method, path, the Hookshot headers, the JSON body) and answers 200.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Delivery {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export interface SampleReceiver {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly deliveries: readonly Delivery[];
  /** Resolves with the first delivery (already received or still to come) that matches. */
  waitFor(match: (d: Delivery) => boolean, timeoutMs: number): Promise<Delivery>;
  stop(): Promise<void>;
}

export const HOOKSHOT_HEADERS = ["x-matrix-hookshot-eventid", "x-matrix-hookshot-roomid", "x-matrix-hookshot-token"] as const;
const DISPLAY_NAMES: Record<string, string> = {
  "x-matrix-hookshot-eventid": "X-Matrix-Hookshot-EventId",
  "x-matrix-hookshot-roomid": "X-Matrix-Hookshot-RoomId",
  "x-matrix-hookshot-token": "X-Matrix-Hookshot-Token",
};
const MAX_BODY_BYTES = 1024 * 1024;

/** A secret shown in part only: enough to recognise it, not enough to use it. */
export function shortenSecret(secret: string | undefined, keep = 6): string {
  if (!secret) return "(none)";
  return secret.length <= keep ? "…" : `${secret.slice(0, keep)}…`;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
};

/** The lines printed for one delivery. */
export function describeDelivery(d: Delivery): string[] {
  const lines = [`${d.method} ${d.path}`];
  for (const name of HOOKSHOT_HEADERS) {
    const value = header(d.headers, name);
    lines.push(`  ${DISPLAY_NAMES[name]}: ${name.endsWith("token") ? shortenSecret(value) : (value ?? "(none)")}`);
  }
  let body = d.body;
  try {
    body = JSON.stringify(JSON.parse(d.body), null, 2);
  } catch {
    // not JSON: shown as sent
  }
  lines.push(...(body ? body.split("\n").map((l) => `  ${l}`) : ["  (empty body)"]));
  return lines;
}

export async function startSampleReceiver(opts: { print?: (line: string) => void; port?: number } = {}): Promise<SampleReceiver> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const deliveries: Delivery[] = [];
  const waiters = new Set<(d: Delivery) => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { "content-type": "text/plain" }).end("too large");
        return;
      }
      const delivery: Delivery = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
      };
      deliveries.push(delivery);
      print(describeDelivery(delivery).map((l) => `    [receiver] ${l}`).join("\n"));
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      for (const waiter of [...waiters]) waiter(delivery);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    deliveries,
    waitFor(match, timeoutMs) {
      const already = deliveries.find(match);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = (d: Delivery) => {
          if (!match(d)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching delivery reached ${url} within ${timeoutMs / 1000} s (${deliveries.length} other request(s) received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
