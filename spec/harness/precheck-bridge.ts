// Stands in for the bridge's pre-send endpoint on the bridge's port: records each request, answers as the test says.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";

export const PRECHECK_PATH = "/_webhook-bridge/precheck/v1/events";

export interface PrecheckRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { event: { event_id: string; room_id: string; sender: string; type: string; content: Record<string, unknown>; origin_server_ts: number; state_key?: string } };
}

/** An answer to send; "hang" keeps the request open until the module gives up; "close" drops the connection unanswered. */
export type PrecheckAnswer = { status: number; body: string } | "hang" | "close";

export class PrecheckStandIn {
  readonly requests: PrecheckRequest[] = [];
  private answer: (req: PrecheckRequest) => PrecheckAnswer = () => verdict({ verdict: "allow" });
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    /** The secret this "bridge" is configured with; set another to play a bridge whose config disagrees. */
    public secret: string,
  ) {}

  static async listen(port: number, secret: string): Promise<PrecheckStandIn> {
    let standIn: PrecheckStandIn | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body: PrecheckRequest["body"];
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as PrecheckRequest["body"];
        } catch {
          res.writeHead(400).end("not JSON");
          return;
        }
        const recorded: PrecheckRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body };
        standIn!.requests.push(recorded);
        // As the bridge does: a wrong secret is refused before anything else.
        if (req.headers.authorization !== `Bearer ${standIn!.secret}`) {
          res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
          return;
        }
        const answer = standIn!.answer(recorded);
        if (answer === "close") {
          res.socket?.destroy();
          return;
        }
        if (answer === "hang") {
          standIn!.hanging.add(res);
          res.once("close", () => standIn!.hanging.delete(res));
          return;
        }
        res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      });
    });
    standIn = new PrecheckStandIn(server, secret);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    return standIn;
  }

  respondWith(answer: (req: PrecheckRequest) => PrecheckAnswer): void {
    this.answer = answer;
  }

  /** Requests about events of this room. */
  about(roomId: string): PrecheckRequest[] {
    return this.requests.filter((r) => r.body.event?.room_id === roomId);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export function verdict(body: unknown, status = 200): PrecheckAnswer {
  return { status, body: JSON.stringify(body) };
}
