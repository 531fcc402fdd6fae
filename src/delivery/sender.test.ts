import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSender } from "./sender.js";
import { SsrfGuard } from "./ssrf.js";

// A real receiver on 127.0.0.1: answers by path.
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/hang") return; // never answers
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "/ok" }).end();
      return;
    }
    if (req.url === "/limited") {
      res.writeHead(429, { "retry-after": "7" }).end("slow down");
      return;
    }
    res.writeHead(200).end("x".repeat(10_000));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const allowed = new HttpSender(100, new SsrfGuard(["127.0.0.1/32"]));
const send = (path: string, sender = allowed, timeoutMs = 2000) =>
  sender.send({ url: `${base}${path}`, method: "PUT", headers: { "content-type": "application/json" }, body: "{}", timeoutMs });

describe("HttpSender against a real receiver", () => {
  it("reports the status and keeps only the start of the answer", async () => {
    const outcome = await send("/ok");
    expect(outcome.result).toEqual({ kind: "response", status: 200, retryAfter: undefined });
    expect(outcome.responseBody).toHaveLength(100);
  });

  it("gives up on a receiver that never answers, as a timeout", async () => {
    const outcome = await send("/hang", allowed, 300);
    expect(outcome.result).toEqual({ kind: "timeout" });
    expect(outcome.error).toBe("no answer within 300 ms");
  });

  it("follows no redirect and passes Retry-After on", async () => {
    expect((await send("/redirect")).result).toMatchObject({ kind: "response", status: 302 });
    expect((await send("/limited")).result).toEqual({ kind: "response", status: 429, retryAfter: "7" });
  });

  it("reports a closed port as a network error", async () => {
    const outcome = await allowed.send({ url: "http://127.0.0.1:1/", method: "PUT", headers: {}, body: "{}", timeoutMs: 2000 });
    expect(outcome.result).toMatchObject({ kind: "network" });
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it("refuses loopback without the allow-list, before connecting", async () => {
    const strict = new HttpSender(100, new SsrfGuard([]));
    const outcome = await send("/ok", strict);
    expect(outcome.result).toMatchObject({ kind: "refused" });
    expect(outcome.error).toMatch(/127\.0\.0\.1 is a loopback address/);
  });
});
