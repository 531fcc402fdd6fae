import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SsrfGuard } from "../egress/ssrf.js";
import { classifyFailure, codeOf, unparseableResponse, withoutUrlPaths, type FailureCategoryId } from "./failure-category.js";
import { errorCode, HttpSender } from "./sender.js";
import { tlsMaterial, type TlsParts } from "./tls-material.js";

const cert = (name: string) => readFileSync(new URL(`./test-certs/${name}`, import.meta.url));
const portOf = (server: HttpServer | HttpsServer) => (server.address() as AddressInfo).port;
const listening = async <T extends HttpServer | HttpsServer>(server: T): Promise<T> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
};

// Real receivers on 127.0.0.1, each failing in its own way.
let selfSigned: HttpsServer;
let wantsClientCert: HttpsServer;
let resetting: HttpServer;
let closedPort: number;
beforeAll(async () => {
  selfSigned = await listening(createHttpsServer({ key: cert("self.key"), cert: cert("self.pem") }, (_req, res) => res.end("ok")));
  wantsClientCert = await listening(
    createHttpsServer({ key: cert("server.key"), cert: cert("server.pem"), ca: cert("ca.pem"), requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end("ok")),
  );
  resetting = await listening(createHttpServer((req) => req.socket.destroy()));
  const closed = await listening(createHttpServer());
  closedPort = portOf(closed);
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(() => {
  for (const server of [selfSigned, wantsClientCert, resetting]) {
    server.closeAllConnections();
    server.close();
  }
});

const sender = new HttpSender(100, new SsrfGuard(["127.0.0.1/32"]));
const attempt = async (url: string, via = sender) => classifyFailure(await via.send({ url, method: "PUT", headers: {}, body: "{}", timeoutMs: 5000 }));

/** A TLS handshake as the sender makes it, but trusting the test CA (the sender cannot yet), to reach the client-certificate check. */
function tlsError(options: { port: number; servername?: string; maxVersion?: "TLSv1.2" | "TLSv1.3" }): Promise<Error> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", ca: cert("ca.pem"), ...options });
    socket.setTimeout(5000, () => reject(new Error("no TLS error within 5 s")));
    // TLS 1.3 reports a refused client certificate after the handshake, on the first read.
    socket.on("secureConnect", () => socket.write("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
    socket.on("data", () => reject(new Error("the server answered")));
    socket.on("error", (err) => {
      socket.destroy();
      resolve(err);
    });
  });
}
const classifyTls = (err: Error) => classifyFailure({ result: { kind: "network", error: err.message }, error: `${errorCode(err)}: ${err.message}`, code: errorCode(err) });

describe("failure categories of real failed attempts", () => {
  it("a closed port is a refused connection", async () => {
    const category = await attempt(`http://127.0.0.1:${closedPort}/hook`);
    expect(category.id).toBe("connection-refused");
    expect(category.summary).toBe("connection refused (ECONNREFUSED)");
  });

  it("a name under .invalid is a DNS failure", async () => {
    const category = await attempt("http://no-such-receiver.invalid/hook");
    expect(category.id).toBe("dns");
    expect(category.summary).toMatch(/^DNS failure \((ENOTFOUND|EAI_AGAIN|EAI_FAIL)\)$/);
  });

  it("a self-signed certificate is a TLS certificate error", async () => {
    const category = await attempt(`https://127.0.0.1:${portOf(selfSigned)}/hook`);
    expect(category).toMatchObject({ id: "tls-certificate", summary: "TLS certificate error (DEPTH_ZERO_SELF_SIGNED_CERT)" });
  });

  it("a certificate from an unknown issuer is a TLS certificate error", async () => {
    const category = await attempt(`https://127.0.0.1:${portOf(wantsClientCert)}/hook`);
    expect(category.id).toBe("tls-certificate");
    // OpenSSL names it by what the server sent: the leaf alone, or the leaf with its (untrusted) CA.
    expect(category.summary).toMatch(/^TLS certificate error \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
  });

  it("a certificate for another host name is a TLS certificate error", async () => {
    const category = classifyTls(await tlsError({ port: portOf(wantsClientCert), servername: "other.example" }));
    expect(category).toMatchObject({ id: "tls-certificate", summary: "TLS certificate error (ERR_TLS_CERT_ALTNAME_INVALID)" });
  });

  it("a receiver that requires a client certificate refuses with mutual TLS (TLS 1.3 and 1.2)", async () => {
    const tls13 = classifyTls(await tlsError({ port: portOf(wantsClientCert) }));
    expect(tls13).toMatchObject({ id: "mutual-tls", summary: "mutual TLS refused (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)" });
    const tls12 = classifyTls(await tlsError({ port: portOf(wantsClientCert), maxVersion: "TLSv1.2" }));
    expect(tls12.id).toBe("mutual-tls");
  });

  it("https to a plain http port is a TLS error, http to an https port a reset", async () => {
    expect((await attempt(`https://127.0.0.1:${portOf(resetting)}/hook`)).id).toBe("tls");
    expect((await attempt(`http://127.0.0.1:${portOf(selfSigned)}/hook`)).id).toBe("connection-reset");
  });

  it("a receiver that drops the connection is a reset", async () => {
    expect((await attempt(`http://127.0.0.1:${portOf(resetting)}/hook`)).id).toBe("connection-reset");
  });

  it("a loopback address without the allow-list is refused by the address guard", async () => {
    const category = await attempt(`http://127.0.0.1:${closedPort}/hook?secret=s3cr3t`, new HttpSender(100, new SsrfGuard([])));
    expect(category.id).toBe("unreachable");
    expect(category.description).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(category.description).not.toContain("s3cr3t");
  });
});

describe("failure categories of real mutual-TLS receivers, through the sender", () => {
  const pem = (name: string) => readFileSync(new URL(`./test-certs/mtls/${name}`, import.meta.url), "utf8");
  const servers: HttpsServer[] = [];
  const receiver = async (options: { maxVersion?: "TLSv1.2" | "TLSv1.3"; requestCert?: boolean; onRequest?: (socket: import("node:net").Socket) => void }) => {
    const { maxVersion, requestCert = true, onRequest } = options;
    const server = await listening(createHttpsServer(
      { key: pem("server.key"), cert: pem("server.pem"), ca: pem("ca.pem"), requestCert, rejectUnauthorized: requestCert, ...(maxVersion ? { maxVersion } : {}) },
      (req, res) => (onRequest ? onRequest(req.socket) : res.end("ok")),
    ));
    servers.push(server);
    return `https://127.0.0.1:${portOf(server)}/hook`;
  };
  afterAll(() => servers.forEach((s) => (s.closeAllConnections(), s.close())));
  const material = (parts: Partial<TlsParts>) => tlsMaterial({ ca: null, cert: null, key: null, passphrase: null, ...parts })!;
  const withCa = material({ ca: pem("ca.pem") });
  const stranger = material({ ca: pem("ca.pem"), cert: pem("other-client.pem"), key: pem("other-client.key") });
  const good = material({ ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") });
  const send = (url: string, tls?: typeof good) => sender.send({ url, method: "PUT", headers: {}, body: "{}", timeoutMs: 5000, ...(tls ? { tls } : {}) });

  it.each(["TLSv1.3", "TLSv1.2"] as const)("%s: the right client certificate gets through", async (maxVersion) => {
    expect((await send(await receiver({ maxVersion }), good)).result).toMatchObject({ kind: "response", status: 200 });
  });

  it("TLS 1.3: no client certificate is mutual TLS, with the receiver's alert (read by a second handshake)", async () => {
    const category = classifyFailure(await send(await receiver({ maxVersion: "TLSv1.3" }), withCa));
    expect(category).toMatchObject({ id: "mutual-tls", summary: "mutual TLS refused (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)" });
    expect(category.description).toMatch(/requires a TLS client certificate and the hook has none/);
  });

  it("TLS 1.2: no client certificate is mutual TLS (handshake failure alert)", async () => {
    const category = classifyFailure(await send(await receiver({ maxVersion: "TLSv1.2" }), withCa));
    expect(category).toMatchObject({ id: "mutual-tls", summary: "mutual TLS refused (ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE)" });
  });

  it.each(["TLSv1.3", "TLSv1.2"] as const)("%s: a certificate from another CA is mutual TLS (the receiver closes without an alert)", async (maxVersion) => {
    const outcome = await send(await receiver({ maxVersion }), stranger);
    expect(outcome.presentedClientCertificate).toBe(true);
    const category = classifyFailure(outcome);
    expect(category.id).toBe("mutual-tls");
    expect(category.summary).toMatch(/^mutual TLS refused \((ECONNRESET|UND_ERR_SOCKET) after presenting the client certificate\)$/);
    expect(category.description).toMatch(/does not trust that certificate/);
  });

  it("without the hook's CA the receiver's certificate is a TLS certificate error", async () => {
    const category = classifyFailure(await send(await receiver({ requestCert: false })));
    expect(category).toMatchObject({ id: "tls-certificate", summary: "TLS certificate error (SELF_SIGNED_CERT_IN_CHAIN)" });
    expect(category.description).toMatch(/private CA/);
  });

  it("an https receiver that drops the request without asking for a certificate is a reset", async () => {
    const url = await receiver({ requestCert: false, onRequest: (socket) => socket.destroy() });
    expect(classifyFailure(await send(url, withCa)).id).toBe("connection-reset");
  });
});

describe("failure category mapping", () => {
  const network = (code: string | null, message = "boom") => ({ result: { kind: "network" as const, error: message }, error: code ? `${code}: ${message}` : message });
  const cases: Array<[string, Parameters<typeof classifyFailure>[0], FailureCategoryId, string]> = [
    ["ENOTFOUND", network("ENOTFOUND"), "dns", "DNS failure (ENOTFOUND)"],
    ["EAI_AGAIN", network("EAI_AGAIN"), "dns", "DNS failure (EAI_AGAIN)"],
    ["EHOSTUNREACH", network("EHOSTUNREACH"), "unreachable", "address not reachable (EHOSTUNREACH)"],
    ["ENETUNREACH", network("ENETUNREACH"), "unreachable", "address not reachable (ENETUNREACH)"],
    ["ECONNREFUSED", network("ECONNREFUSED"), "connection-refused", "connection refused (ECONNREFUSED)"],
    ["ECONNRESET", network("ECONNRESET"), "connection-reset", "connection reset (ECONNRESET)"],
    ["UND_ERR_SOCKET", network("UND_ERR_SOCKET", "other side closed"), "connection-reset", "connection reset (UND_ERR_SOCKET)"],
    ["ETIMEDOUT", network("ETIMEDOUT"), "timeout", "timeout"],
    ["CERT_HAS_EXPIRED", network("CERT_HAS_EXPIRED"), "tls-certificate", "TLS certificate error (CERT_HAS_EXPIRED)"],
    ["SELF_SIGNED_CERT_IN_CHAIN", network("SELF_SIGNED_CERT_IN_CHAIN"), "tls-certificate", "TLS certificate error (SELF_SIGNED_CERT_IN_CHAIN)"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", network("ERR_TLS_CERT_ALTNAME_INVALID"), "tls-certificate", "TLS certificate error (ERR_TLS_CERT_ALTNAME_INVALID)"],
    ["bad certificate alert", network("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE"), "mutual-tls", "mutual TLS refused (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE)"],
    ["unknown CA alert", network("ERR_SSL_TLSV1_ALERT_UNKNOWN_CA"), "mutual-tls", "mutual TLS refused (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)"],
    ["wrong version", network("ERR_SSL_WRONG_VERSION_NUMBER"), "tls", "TLS error (ERR_SSL_WRONG_VERSION_NUMBER)"],
    ["certificate required alert", network("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"), "mutual-tls", "mutual TLS refused (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)"],
    ["handshake failure alert", network("ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE"), "mutual-tls", "mutual TLS refused (ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE)"],
    ["reset after presenting a client certificate", { ...network("ECONNRESET"), presentedClientCertificate: true }, "mutual-tls", "mutual TLS refused (ECONNRESET after presenting the client certificate)"],
    ["closed after presenting a client certificate", { ...network("UND_ERR_SOCKET", "other side closed"), presentedClientCertificate: true }, "mutual-tls", "mutual TLS refused (UND_ERR_SOCKET after presenting the client certificate)"],
    ["a plain reset without a client certificate", { ...network("ECONNRESET"), presentedClientCertificate: false }, "connection-reset", "connection reset (ECONNRESET)"],
    ["an unknown code", network("EWHATEVER", "odd"), "other", "delivery error (EWHATEVER)"],
    ["no code", network(null, "could not prepare the delivery: ENOSPC"), "other", "delivery error"],
    ["timeout", { result: { kind: "timeout" }, error: "no answer within 3000 ms" }, "timeout", "timeout (no answer within 3 s)"],
    ["HTTP 503", { result: { kind: "response", status: 503 }, error: null }, "http-status", "HTTP status 503"],
    ["HTTP 404", { result: { kind: "response", status: 404 }, error: null }, "http-status", "HTTP status 404"],
    ["refused by the guard", { result: { kind: "refused", reason: "refusing to connect: 10.0.0.1 is a private address" }, error: null }, "unreachable", "address refused by the bridge's address guard"],
  ];
  it.each(cases)("%s", (_name, input, id, summary) => {
    const category = classifyFailure(input);
    expect(category.id).toBe(id);
    expect(category.summary).toBe(summary);
    expect(category.description.length).toBeGreaterThan(10);
  });

  it("says whether the hook has a client certificate to give", () => {
    const alert = (presented: boolean, code: string) => classifyFailure({ ...network(code), presentedClientCertificate: presented }).description;
    expect(alert(true, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA")).toMatch(/because of the hook's client certificate/);
    expect(alert(false, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA")).toMatch(/missing\) client certificate/);
    expect(alert(true, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")).toMatch(/did not take the one the bridge presented/);
    expect(alert(false, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")).toMatch(/the hook has none/);
  });

  it("prefers the structured code over the error text", () => {
    expect(classifyFailure({ result: { kind: "network", error: "x" }, error: "x", code: "ECONNREFUSED" }).id).toBe("connection-refused");
  });

  it("tells 4xx, 401 and redirects apart", () => {
    const hint = (status: number) => classifyFailure({ result: { kind: "response", status }, error: null }).description;
    expect(hint(401)).toMatch(/token/);
    expect(hint(302)).toMatch(/redirect/);
    expect(hint(429)).toMatch(/slow down/);
    expect(hint(400)).toMatch(/not retried/);
  });

  it("reads the code of a sender error string", () => {
    expect(codeOf("ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1")).toBe("ECONNREFUSED");
    expect(codeOf("ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE: alert")).toBe("ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE");
    expect(codeOf("no answer within 3000 ms")).toBeNull();
    expect(codeOf(null)).toBeNull();
  });

  it("an unparseable answer has its own category", () => {
    expect(unparseableResponse("not JSON")).toMatchObject({ id: "unparseable-response", summary: "response not parseable" });
  });

  it("keeps URL paths and queries out of descriptions", () => {
    expect(withoutUrlPaths("failed for https://user:pw@ci.example:8443/hooks/abc?token=s3cr3t now")).toBe("failed for https://ci.example:8443 now");
    expect(withoutUrlPaths("see gopher://x/y")).toBe("see <url>");
    const other = classifyFailure({ result: { kind: "network", error: "x" }, error: "fetch of https://h.example/p?k=1 failed" });
    expect(other.description).toBe("fetch of https://h.example failed.");
  });
});
