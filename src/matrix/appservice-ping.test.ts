import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AppserviceMatrix } from "./appservice-matrix.js";
import { generateRegistration, loadRegistration, writeRegistrationFile } from "./registration.js";

// The start-up ping against a real loopback HTTP server answering as homeservers do: Synapse
// 1.163 (200), an older Synapse without the endpoint (1.67: 400 M_UNRECOGNIZED), others (404).
describe("AppserviceMatrix.ping", () => {
  let server: Server | undefined;
  let dir = "";
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function homeserverAnswering(status: number, body: string) {
    const seen: Array<{ url: string; auth: string | undefined; body: string }> = [];
    server = createServer((req: IncomingMessage, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        seen.push({ url: req.url ?? "", auth: req.headers.authorization, body: text });
        res.writeHead(status, { "content-type": "application/json" }).end(body);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    dir = mkdtempSync(join(tmpdir(), "mwb-ping-"));
    await writeRegistrationFile(join(dir, "reg.yaml"), generateRegistration({ id: "hooks bridge", url: "http://127.0.0.1:1" }));
    const registration = await loadRegistration(join(dir, "reg.yaml"));
    const matrix = new AppserviceMatrix({ homeserverUrl: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, domain: "x", registration });
    return { matrix, seen, asToken: registration.asToken };
  }

  it("asks the homeserver to ping the bridge, as the appservice, with a transaction id", async () => {
    const { matrix, seen, asToken } = await homeserverAnswering(200, '{"duration_ms":3}');
    expect(await matrix.ping()).toBe("pinged");
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe("/_matrix/client/v1/appservice/hooks%20bridge/ping");
    expect(seen[0]!.auth).toBe(`Bearer ${asToken}`);
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ transaction_id: expect.stringMatching(/^mwb-ping-/) });
  });

  it("reports an older homeserver without the endpoint as unsupported, not as a failure", async () => {
    const synapse167 = await homeserverAnswering(400, '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
    expect(await synapse167.matrix.ping()).toBe("unsupported");
  });

  it("answers 404 as unsupported too, and rejects with the homeserver's answer otherwise", async () => {
    const plain = await homeserverAnswering(404, '{"errcode":"M_NOT_FOUND"}');
    expect(await plain.matrix.ping()).toBe("unsupported");
    server!.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    rmSync(dir, { recursive: true, force: true });
    const failing = await homeserverAnswering(502, '{"errcode":"M_CONNECTION_FAILED","error":"AlreadyCalled"}');
    await expect(failing.matrix.ping()).rejects.toThrow(/HTTP 502: .*M_CONNECTION_FAILED/);
  });
});
