// Load generation: synthetic appservice transactions pushed to the bridge as a homeserver would
// (one transaction in flight at a time), and raw undici PUTs straight to the receiver.
import { Agent, Pool, request } from "undici";
import { clock, sleep, summarize, type Summary } from "./stats.js";

export const BENCH_SENDER = "@bench:localhost";

/**
 * How event ids look: "random" as in room versions 4 and later (a hash, so every new id lands at a
 * random place of an index over them), or "sequential" (ids that sort in the order they are sent,
 * which flatters anything keyed by event id). Either way the id ends with `<tag>_<seq>_<sent µs>`,
 * which the receiver reads; a random id has a random prefix before a "." (not in base64url).
 */
export type EventIdStyle = "random" | "sequential";

export function syntheticEventId(tag: string, seq: number, sentMs: number, style: EventIdStyle): string {
  const prefix = style === "random" ? Math.random().toString(36).slice(2, 14) + "." : "";
  return `$${prefix}${tag}_${seq}_${Math.round(sentMs * 1000)}`;
}

/** A text message as the homeserver would send it; the id carries the tag and the send time (µs). */
export function syntheticEvent(tag: string, seq: number, roomId: string, sentMs: number, style: EventIdStyle = "random"): Record<string, unknown> {
  return {
    event_id: syntheticEventId(tag, seq, sentMs, style),
    room_id: roomId,
    sender: BENCH_SENDER,
    type: "m.room.message",
    origin_server_ts: Math.floor(sentMs),
    content: { msgtype: "m.text", body: `benchmark message ${seq}: the build of main passed, 1,234 tests in 56 s` },
    unsigned: { age: 12 },
  };
}

/** The homeserver side: PUT /_matrix/app/v1/transactions/{txnId} over one keep-alive connection. */
export class Homeserver {
  private readonly pool: Pool;
  private txn = 0;

  constructor(
    private readonly bridgeUrl: string,
    private readonly hsToken: string,
    private readonly txnPrefix: string,
    private readonly eventIds: EventIdStyle = "random",
  ) {
    this.pool = new Pool(bridgeUrl, { connections: 1, keepAliveTimeout: 60_000 });
  }

  /** Sends `count` events of `tag` spread over the rooms round-robin; returns the ack time in ms. */
  async push(tag: string, firstSeq: number, count: number, rooms: readonly string[]): Promise<number> {
    const sent = clock();
    const events = Array.from({ length: count }, (_, i) => syntheticEvent(tag, firstSeq + i, rooms[(firstSeq + i) % rooms.length]!, sent, this.eventIds));
    const txnId = `${this.txnPrefix}-${this.txn++}`;
    const res = await request(`${this.bridgeUrl}/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, {
      method: "PUT",
      dispatcher: this.pool,
      headers: { authorization: `Bearer ${this.hsToken}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await res.body.text();
    const acked = clock() - sent;
    if (res.statusCode !== 200) throw new Error(`transaction ${txnId} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return acked;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface PushResult {
  events: number;
  transactions: number;
  /** Send time of the first transaction (clock()). */
  startedAt: number;
  /** From the first send to the last acknowledgement, ms. */
  elapsedMs: number;
  ack: Summary;
}

/** As fast as acknowledgements allow: `events` events in transactions of `txnSize`. */
export async function pushBurst(hs: Homeserver, tag: string, events: number, txnSize: number, rooms: readonly string[]): Promise<PushResult> {
  const acks: number[] = [];
  const startedAt = clock();
  for (let seq = 0; seq < events; seq += txnSize) acks.push(await hs.push(tag, seq, Math.min(txnSize, events - seq), rooms));
  return { events, transactions: acks.length, startedAt, elapsedMs: clock() - startedAt, ack: summarize(acks) };
}

/**
 * Paced: `rate` events/s in transactions of `txnSize`, each sent at its scheduled time (or at
 * once when the previous acknowledgement came late), for `seconds`.
 */
export async function pushPaced(hs: Homeserver, tag: string, rate: number, seconds: number, txnSize: number, rooms: readonly string[]): Promise<PushResult> {
  const intervalMs = (txnSize / rate) * 1000;
  const transactions = Math.max(1, Math.round((rate * seconds) / txnSize));
  const acks: number[] = [];
  const startedAt = clock();
  for (let i = 0; i < transactions; i++) {
    const wait = startedAt + i * intervalMs - clock();
    if (wait >= 1) await sleep(Math.floor(wait));
    acks.push(await hs.push(tag, i * txnSize, txnSize, rooms));
  }
  return { events: transactions * txnSize, transactions, startedAt, elapsedMs: clock() - startedAt, ack: summarize(acks) };
}

export interface RawResult {
  requests: number;
  seconds: number;
  perSecond: number;
  errors: number;
  /** Requests sent during the warm-up (for CPU accounting over the whole call). */
  warmupRequests: number;
}

/**
 * The ceiling: PUTs with undici straight to the receiver, `inFlight` at a time (like the bridge's
 * delivery concurrency) through an Agent set up like the bridge's sender, with the same kind of
 * body and headers. A warm-up first, then `seconds` of measurement.
 */
export async function rawPutRate(receiverUrl: string, opts: { seconds: number; inFlight: number; warmupSeconds?: number; eventIds?: EventIdStyle }): Promise<RawResult> {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  const sample = syntheticEvent("x", 0, "!aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:localhost", clock());
  const body = JSON.stringify(sample);
  let seq = 0;
  let errors = 0;
  const one = async (tag: string) => {
    const id = syntheticEventId(tag, seq++, clock(), opts.eventIds ?? "random");
    const res = await request(`${receiverUrl}/raw`, {
      method: "PUT",
      dispatcher: agent,
      headers: {
        "content-type": "application/json",
        "user-agent": "matrix-webhook-bridge/0.1.0 (bench)",
        "x-matrix-hookshot-eventid": id,
        "x-matrix-hookshot-roomid": String(sample.room_id),
        "x-matrix-hookshot-token": "b".repeat(43),
        "webhook-id": "msg_" + "c".repeat(32),
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    if (res.statusCode !== 200) errors++;
  };
  const run = async (tag: string, ms: number): Promise<number> => {
    let done = 0;
    const until = clock() + ms;
    const lane = async () => {
      while (clock() < until) {
        await one(tag).catch(() => errors++);
        done++;
      }
    };
    await Promise.all(Array.from({ length: opts.inFlight }, lane));
    return done;
  };
  try {
    const warmupRequests = await run("rawwarm", (opts.warmupSeconds ?? 1) * 1000);
    errors = 0;
    const started = clock();
    const requests = await run("raw", opts.seconds * 1000);
    const seconds = (clock() - started) / 1000;
    return { requests, seconds, perSecond: requests / seconds, errors, warmupRequests };
  } finally {
    await agent.close();
  }
}
