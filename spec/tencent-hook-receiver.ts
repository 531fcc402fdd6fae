// An app backend as Tencent Chat calls it, for the callback specs: one real node:http receiver on
// 127.0.0.1 for many hooks (the first path segment names the hook), answering each hook's calls
// as a test scripts it (Tencent's "OK" by default), and reading the calls back parsed.
import { MATRIX_EVENT_KEY, verifyTencentSign } from "../src/outbound/formats/tencent/index.js";
import { Receiver, type ReceivedRequest } from "./harness/receiver.js";

export interface TencentCall {
  req: ReceivedRequest;
  hook: string;
  query: URLSearchParams;
  // The receiver reads Tencent's fields by name, as an app backend does.
  body: Record<string, any>;
  /** The Matrix event beside Tencent's fields. */
  event: { event_id: string; type: string; content: Record<string, any>; origin_server_ts: number; state_key?: string; room_id: string; sender: string };
  command: string;
}

export interface TencentAnswer {
  status?: number;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
  delayMs?: number;
}

/** `nth`: how many calls this hook got for this event and command word, this one included. */
export type TencentAnswerer = (call: TencentCall, nth: number) => TencentAnswer;

export const TENCENT_OK = { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" };

export class TencentHookReceiver {
  private readonly answers = new Map<string, TencentAnswerer>();

  private constructor(private readonly receiver: Receiver) {}

  static async start(): Promise<TencentHookReceiver> {
    const receiver = await Receiver.start();
    const tencent = new TencentHookReceiver(receiver);
    receiver.respondWith((req) => tencent.respond(req));
    return tencent;
  }

  urlFor(hook: string): string {
    return `${this.receiver.url}/${hook}/callback?tenant=spec`;
  }

  answer(hook: string, answerer: TencentAnswerer): void {
    this.answers.set(hook, answerer);
  }

  /** Every call a hook got so far, in arrival order. */
  calls(hook: string, filter: (call: TencentCall) => boolean = () => true): TencentCall[] {
    return this.receiver.requests.map(parseCall).filter((c): c is TencentCall => c !== null && c.hook === hook && filter(c));
  }

  /** Waits (polling, bounded) until the hook got `count` matching calls. */
  async waitFor(hook: string, filter: (call: TencentCall) => boolean, count = 1, timeoutMs = 15_000): Promise<TencentCall[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.calls(hook, filter);
      if (hits.length >= count) return hits;
      if (Date.now() > deadline) {
        const seen = this.calls(hook).map((c) => `${c.command} ${c.event.event_id}`).join(", ");
        throw new Error(`hook "${hook}" got ${hits.length} of ${count} matching calls within ${timeoutMs} ms (it got: ${seen || "none"})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): Promise<void> {
    return this.receiver.stop();
  }

  private respond(req: ReceivedRequest): { status: number; body?: string; headers?: Record<string, string>; delayMs?: number } {
    const call = parseCall(req);
    if (!call) return { status: 400, body: "not a Tencent callback" };
    const nth = this.calls(call.hook, (c) => c.command === call.command && c.event.event_id === call.event.event_id).length;
    const answer = this.answers.get(call.hook)?.(call, nth) ?? {};
    const body = answer.body === undefined ? JSON.stringify(TENCENT_OK) : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return { status: answer.status ?? 200, body, headers: { "content-type": "application/json" }, ...(answer.delayMs ? { delayMs: answer.delayMs } : {}) };
  }
}

function parseCall(req: ReceivedRequest): TencentCall | null {
  const url = new URL(req.path, "http://receiver");
  try {
    const body = JSON.parse(req.body.toString("utf8")) as Record<string, any>;
    return { req, hook: url.pathname.split("/")[1]!, query: url.searchParams, body, event: body[MATRIX_EVENT_KEY], command: String(body.CallbackCommand) };
  } catch {
    return null;
  }
}

/** Whether the call carries a genuine, fresh Sign for the token (as a receiver checks it). */
export const signedWith = (call: TencentCall, token: string): boolean =>
  verifyTencentSign(token, call.query.get("Sign"), call.query.get("RequestTime"), Math.floor(Date.now() / 1000));

/** A message body as Tencent's single text element. */
export const textBody = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];
