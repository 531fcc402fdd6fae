import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SsrfGuard } from "../egress/ssrf.js";
import { TlsAlertProbe } from "./tls-probe.js";

const pem = (name: string) => readFileSync(new URL(`./test-certs/mtls/${name}`, import.meta.url), "utf8");
let server: Server;
let url: string;
let handshakes = 0;
beforeAll(async () => {
  server = createServer({ key: pem("server.key"), cert: pem("server.pem"), ca: pem("ca.pem"), requestCert: true, rejectUnauthorized: true, maxVersion: "TLSv1.3" });
  server.on("connection", () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => server.close());

describe("TlsAlertProbe", () => {
  const guard = new SsrfGuard(["127.0.0.1/32"]);

  it("reads the alert of a TLS 1.3 receiver that wants a client certificate, once per while", async () => {
    const probe = new TlsAlertProbe({ lookup: guard.lookup });
    const tls = { ca: pem("ca.pem"), id: "ca-only" };
    expect(await probe.alert(url, tls, 2000, 1_000)).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
    expect(await probe.alert(url, tls, 2000, 2_000)).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
    expect(handshakes).toBe(1);
    // Other material, or later: probed again.
    expect(await probe.alert(url, { ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key"), id: "good" }, 300, 2_000)).toBeNull();
    expect(await probe.alert(url, tls, 2000, 40_000)).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
    expect(handshakes).toBe(3);
  });

  it("finds no alert where the certificate is not trusted (the probe's own check fails)", async () => {
    expect(await new TlsAlertProbe({ lookup: guard.lookup }).alert(url, undefined, 2000)).toBeNull();
  });
});
