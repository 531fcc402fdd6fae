import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSender } from "./sender.js";
import { SsrfGuard } from "../egress/ssrf.js";
import { tlsMaterial, type TlsMaterial, type TlsParts } from "./tls-material.js";

// A real receiver on 127.0.0.1: answers by path.
let server: Server;
let base: string;
// How much of /huge had been written when its connection closed.
let hugeClosedAt: (sent: number) => void;
const hugeClosed = new Promise<number>((resolve) => (hugeClosedAt = resolve));
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/hang") return; // never answers
    if (req.url === "/drip") {
      // Answers at once, then sends its body a byte at a time, for ever.
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("."), 50);
      res.on("close", () => clearInterval(timer));
      return;
    }
    if (req.url === "/huge") {
      // 50 MB: far more than anyone should read to keep 100 bytes of it.
      res.writeHead(500, { "content-length": String(50 * 1024 * 1024) });
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      res.on("close", () => hugeClosedAt(sent));
      const pump = () => {
        while (sent < 50 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 50 * 1024 * 1024) res.once("drain", () => ((sent += chunk.length), pump()));
        else res.end();
      };
      pump();
      return;
    }
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

  it("ends an answer that trickles in at the attempt's deadline, as a timeout", async () => {
    const outcome = await send("/drip", allowed, 400);
    expect(outcome.result).toEqual({ kind: "timeout" });
    expect(outcome.durationMs).toBeLessThan(2000);
  });

  it("stops reading a huge answer once it has the first bytes", async () => {
    const outcome = await send("/huge");
    expect(outcome.result).toMatchObject({ kind: "response", status: 500 });
    expect(outcome.responseBody).toBe("x".repeat(100));
    // The sender dropped the connection long before the 50 MB were through.
    expect(await hugeClosed).toBeLessThan(50 * 1024 * 1024);
  });

  it("refuses a host name that resolves to loopback, at connect time", async () => {
    const strict = new HttpSender(100, new SsrfGuard([]));
    const outcome = await strict.send({ url: base.replace("127.0.0.1", "localhost") + "/ok", method: "PUT", headers: {}, body: "{}", timeoutMs: 2000 });
    expect(outcome.result).toMatchObject({ kind: "refused" });
    expect(outcome.error).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
  });

  it("refuses loopback without the allow-list, before connecting", async () => {
    const strict = new HttpSender(100, new SsrfGuard([]));
    const outcome = await send("/ok", strict);
    expect(outcome.result).toMatchObject({ kind: "refused" });
    expect(outcome.error).toMatch(/127\.0\.0\.1 is a loopback address/);
  });
});

describe("HttpSender with a hook's TLS material", () => {
  const pem = (name: string) => readFileSync(new URL(`./test-certs/mtls/${name}`, import.meta.url), "utf8");
  let mtls: HttpsServer;
  let url: string;
  beforeAll(async () => {
    // A receiver with a private CA that requires a client certificate signed by it, and says whose it got.
    mtls = createHttpsServer({ key: pem("server.key"), cert: pem("server.pem"), ca: pem("ca.pem"), requestCert: true, rejectUnauthorized: true }, (req, res) =>
      res.end((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? "none"),
    );
    await new Promise<void>((r) => mtls.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(mtls.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => {
    mtls.closeAllConnections();
    mtls.close();
  });
  const material = (parts: Partial<TlsParts>) => tlsMaterial({ ca: null, cert: null, key: null, passphrase: null, ...parts })!;
  const sendTls = (tls: TlsMaterial | undefined, via = allowed) => via.send({ url, method: "PUT", headers: {}, body: "{}", timeoutMs: 3000, ...(tls ? { tls } : {}) });

  it("trusts the private CA and presents the client certificate", async () => {
    const outcome = await sendTls(material({ ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client-encrypted.key"), passphrase: "test-passphrase" }));
    expect(outcome.result).toMatchObject({ kind: "response", status: 200 });
    expect(outcome.responseBody).toBe("webhook-bridge");
  });

  it("keeps one pool per material: another certificate gets its own connections", async () => {
    const good = material({ ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") });
    const stranger = material({ ca: pem("ca.pem"), cert: pem("other-client.pem"), key: pem("other-client.key") });
    expect((await sendTls(good)).responseBody).toBe("webhook-bridge");
    const refused = await sendTls(stranger);
    expect(refused.result.kind).toBe("network");
    expect(refused.presentedClientCertificate).toBe(true);
    // The good pool is not spoilt by the refused one.
    expect((await sendTls(good)).responseBody).toBe("webhook-bridge");
  });

  it("still checks the host name against the private CA's certificate", async () => {
    // The same certificate (for 127.0.0.1) served on 127.0.0.2: trusted issuer, wrong name.
    const elsewhere = createHttpsServer({ key: pem("server.key"), cert: pem("server.pem") }, (_req, res) => res.end("ok"));
    await new Promise<void>((r) => elsewhere.listen(0, "127.0.0.2", r));
    try {
      const wide = new HttpSender(100, new SsrfGuard(["127.0.0.0/8"]));
      const outcome = await wide.send({ url: `https://127.0.0.2:${(elsewhere.address() as AddressInfo).port}/`, method: "PUT", headers: {}, body: "{}", timeoutMs: 3000, tls: material({ ca: pem("ca.pem") }) });
      expect(outcome.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
      await wide.close();
    } finally {
      elsewhere.close();
    }
  });

  it("without the CA the receiver's certificate is not trusted", async () => {
    const outcome = await sendTls(undefined);
    expect(outcome.code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(outcome.presentedClientCertificate).toBeUndefined();
  });

  it("closes every pool", async () => {
    const sender = new HttpSender(100, new SsrfGuard(["127.0.0.1/32"]));
    expect((await sendTls(material({ ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") }), sender)).responseBody).toBe("webhook-bridge");
    await sender.close();
  });
});
