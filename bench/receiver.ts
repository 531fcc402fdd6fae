// The benchmark's webhook receiver, run as its own process (so it does not share a core's event
// loop with the load generator or the bridge). Answers every request 200 with an empty body and
// records, per tag, how many arrived, when, and how long after the benchmark sent the event.
//
// Event ids look like `$[<random>.]<tag>_<seq>_<sent>`: <sent> is the send time of the transaction that
// carried the event, in microseconds since the epoch (performance.timeOrigin + performance.now(),
// the same clock here). The parent talks to this process over IPC (see ReceiverRequest).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { clock, summarize, type Summary } from "./stats.js";

export type ReceiverRequest =
  | { op: "stats"; id: number; tag: string }
  | { op: "delay"; id: number; ms: number }
  | { op: "forget"; id: number; tag: string };

export type ReceiverMessage =
  | { op: "ready"; port: number }
  | { op: "reply"; id: number; stats?: TagStats };

export interface TagStats {
  count: number;
  /** Arrival of the first and last request of the tag, ms since the epoch (0 when none). */
  first: number;
  last: number;
  /** Event → PUT latency (arrival − send time), ms. */
  latency: Summary;
  /** Requests without a parsable event id header. */
  malformed: number;
}

interface Tag {
  count: number;
  first: number;
  last: number;
  latencies: number[];
}

const tags = new Map<string, Tag>();
let malformed = 0;
let delayMs = 0;

function record(eventId: string | string[] | undefined, at: number): void {
  if (typeof eventId !== "string") return void malformed++;
  // `$[<random>.]<tag>_<seq>_<sent>` (see syntheticEventId in load.ts).
  const start = eventId.indexOf(".") + 1 || 1;
  const a = eventId.indexOf("_", start);
  const b = eventId.lastIndexOf("_");
  const sent = Number(eventId.slice(b + 1)) / 1000;
  if (a < start + 1 || b <= a || !Number.isFinite(sent)) return void malformed++;
  const name = eventId.slice(start, a);
  let tag = tags.get(name);
  if (!tag) tags.set(name, (tag = { count: 0, first: at, last: at, latencies: [] }));
  tag.count++;
  tag.last = at;
  // The raw PUT rate needs only the count: no per-request bookkeeping for it.
  if (!name.startsWith("raw")) tag.latencies.push(at - sent);
}

const server = createServer((req, res) => {
  record(req.headers["x-matrix-hookshot-eventid"], clock());
  req.resume();
  req.on("end", () => {
    const reply = () => {
      res.writeHead(200, { "content-length": "0" });
      res.end();
    };
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  });
});
server.keepAliveTimeout = 60_000;

function stats(name: string): TagStats {
  const tag = tags.get(name);
  if (!tag) return { count: 0, first: 0, last: 0, latency: summarize([]), malformed };
  return { count: tag.count, first: tag.first, last: tag.last, latency: summarize(tag.latencies), malformed };
}

function send(message: ReceiverMessage): void {
  process.send?.(message);
}

process.on("message", (raw: ReceiverRequest) => {
  switch (raw.op) {
    case "stats":
      return send({ op: "reply", id: raw.id, stats: stats(raw.tag) });
    case "delay":
      delayMs = raw.ms;
      return send({ op: "reply", id: raw.id });
    case "forget":
      tags.delete(raw.tag);
      return send({ op: "reply", id: raw.id });
  }
});
// The parent went away (crash, SIGKILL): do not outlive it.
process.on("disconnect", () => process.exit(0));

server.listen(0, "127.0.0.1", () => send({ op: "ready", port: (server.address() as AddressInfo).port }));
