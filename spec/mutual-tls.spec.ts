// HTTPS receivers with a private CA and mutual TLS, on a real Synapse: a hook with a config profile
// (CA + client certificate) and one given its material by command both reach a receiver that
// requires client certificates (which sees the bridge's certificate); a certificate from another
// CA is reported as mutual TLS, a receiver whose CA the hook does not trust as a TLS certificate
// error, in the failure notice and in status.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import type { TestClient } from "../src/demo/test-client.js";
import { startBridge, type BridgeUnderTest } from "./harness/bridge.js";
import { botNotice, roomWithBot } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const certs = fileURLToPath(new URL("../src/delivery/test-certs/mtls/", import.meta.url));
const file = (name: string) => `${certs}${name}`;
const pem = (name: string) => readFileSync(file(name), "utf8");

let bridge: BridgeUnderTest;
let admin: TestClient;
let roomId: string;
const servers: Server[] = [];
/** What the mutual-TLS receiver got: event id → the client certificate's CN. */
const seen = new Map<string, string>();
let mtlsUrl: string;
let privateCaUrl: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

beforeAll(async () => {
  // Requires a client certificate signed by the test CA (Node closes on others without an alert).
  mtlsUrl = await listen(createServer({ key: pem("server.key"), cert: pem("server.pem"), ca: pem("ca.pem"), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.set(String(req.headers["x-matrix-hookshot-eventid"]), String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
    req.resume();
    req.on("end", () => res.end("ok"));
  }));
  // The same private CA, no client certificate asked for.
  privateCaUrl = await listen(createServer({ key: pem("server.key"), cert: pem("server.pem") }, (req, res) => (req.resume(), req.on("end", () => res.end("ok")))));
  bridge = await startBridge({
    delivery: {
      retries: 1, retrySchedule: [0.5], jitter: 0, timeoutSeconds: 3, failureNoticeAfterAttempts: 1, allowedNetworks: ["127.0.0.1/32"],
      tlsProfiles: {
        partner: { ca: file("ca.pem"), cert: file("client.pem"), key: file("client-encrypted.key"), passphraseFile: file("client.passphrase") },
        stranger: { ca: file("ca.pem"), cert: file("other-client.pem"), key: file("other-client.key") },
        "trust-only": { ca: file("ca.pem") },
      },
    },
  });
  admin = (await registerUser(uniqueName("admin"))).client;
  roomId = await roomWithBot(admin, bridge.botUserId);
});

afterAll(async () => {
  await bridge?.stop();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

const notice = (match: RegExp, timeoutMs = 15_000) => botNotice(admin, roomId, bridge.botUserId, match, timeoutMs);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function delivered(eventId: string): Promise<string> {
  for (let i = 0; i < 100 && !seen.has(eventId); i++) await sleep(100);
  const cn = seen.get(eventId);
  if (cn === undefined) throw new Error(`the receiver did not get ${eventId} within 10 s`);
  return cn;
}

/** A hook written as room state, as a room admin (or another client) would. */
async function hookWithState(name: string, url: string, extra: Record<string, unknown>): Promise<void> {
  await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, name, { name, url, ...extra });
}

const status = async (name: string, match: RegExp) => {
  await admin.sendMessage(roomId, `!hooks outbound status ${name}`);
  return String((await notice(new RegExp(`^Outbound hook "${name}": [\\s\\S]*${match.source}`))).content.body);
};

describe("mutual TLS", () => {
  it("a hook with a config profile trusts the private CA and presents the client certificate", async () => {
    await hookWithState("partner", mtlsUrl, { tls_profile: "partner" });
    await notice(/^Outbound hook "partner" active/);
    const eventId = await admin.sendMessage(roomId, "to the partner");
    expect(await delivered(eventId)).toBe("webhook-bridge");
    expect(await status("partner", /TLS: profile "partner": trusts 1 certificate/)).toMatch(/client certificate CN=webhook-bridge, O=Bridge Test/);
  });

  it("an unknown profile is refused, naming the ones there are", async () => {
    await hookWithState("typo", mtlsUrl, { tls_profile: "partnr" });
    const refused = await notice(/^Ignored outbound hook "typo"/);
    expect(String(refused.content.body)).toBe('Ignored outbound hook "typo": tls_profile: "partnr" is not one of this bridge\'s TLS profiles (it has "partner", "stranger", "trust-only").');
  });

  it("material uploaded by command works the same; the key's message is redacted and the PEM never echoed", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add uploaded ${mtlsUrl}`);
    await notice(/^Outbound hook "uploaded" added/);
    await admin.sendMessage(roomId, `!hooks outbound tls uploaded ca\n\`\`\`\n${pem("ca.pem")}\`\`\``);
    await notice(/^Outbound hook "uploaded" has a new CA bundle\. TLS: uploaded by command: trusts 1 certificate, first: CN=Bridge Test CA/);
    await admin.sendMessage(roomId, `!hooks outbound tls uploaded cert\n${pem("client.pem")}`);
    await notice(/^Outbound hook "uploaded" has a new client certificate\..*its key is not uploaded yet/);
    const keyMessage = await admin.sendMessage(roomId, `!hooks outbound tls uploaded key\n\`\`\`\n${pem("client.key")}\`\`\``);
    await notice(/^Outbound hook "uploaded" has a new client key\..* I redacted your message: it held a private key\.$/);
    const event = await admin.waitForEvent(roomId, (e) => e.event_id === keyMessage && Object.keys(e.content).length === 0);
    expect((event.unsigned as { redacted_because?: unknown } | undefined)?.redacted_because).toBeDefined();
    const eventId = await admin.sendMessage(roomId, "to the uploaded hook");
    expect(await delivered(eventId)).toBe("webhook-bridge");
    const timeline = (await admin.messages(roomId, { limit: 100 })).chunk;
    const fromBot = timeline.filter((e) => e.sender === bridge.botUserId).map((e) => JSON.stringify(e.content)).join("\n");
    expect(fromBot).not.toMatch(/BEGIN|PRIVATE KEY/);
  });

  it("a client certificate from another CA is reported as mutual TLS, in the notice and in status", async () => {
    await hookWithState("stranger", mtlsUrl, { tls_profile: "stranger" });
    await notice(/^Outbound hook "stranger" active/);
    await admin.sendMessage(roomId, "from a stranger");
    const failing = await notice(/^Outbound hook "stranger" cannot deliver: mutual TLS refused/);
    expect(String(failing.content.body)).toMatch(/after presenting the client certificate\) at https:\/\/127\.0\.0\.1:\d+\. The receiver closed the connection/);
    expect(await status("stranger", /Last failure, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: mutual TLS refused .*\[mutual-tls\]/)).toMatch(/does not trust that certificate/);
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/webhook_bridge_delivery_failures_total\{category="mutual-tls"\} [1-9]/);
    // Given up after its retries: the dead-letter notice names the category too.
    await notice(/^Outbound hook "stranger" could not deliver event \S+: mutual TLS refused \(.*\) \[mutual-tls\]; /);
  });

  it("a receiver whose private CA the hook does not trust is a TLS certificate error", async () => {
    await admin.sendMessage(roomId, `!hooks outbound add untrusted ${privateCaUrl}`);
    await notice(/^Outbound hook "untrusted" added/);
    await admin.sendMessage(roomId, "to a receiver we do not trust");
    // OpenSSL names it by what the receiver sends: its certificate alone, or with the CA's.
    const failing = await notice(/^Outbound hook "untrusted" cannot deliver: TLS certificate error \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)/);
    expect(String(failing.content.body)).toMatch(/private CA needs the hook to trust that CA/);
    expect(await status("untrusted", /\[tls-certificate\]/)).toMatch(/TLS: public CAs, no client certificate\./);
    // Told to trust the CA, the hook delivers (and the room hears it once).
    await admin.sendMessage(roomId, "!hooks outbound set untrusted tls-profile trust-onyl");
    await notice(/^Cannot change "untrusted": tls_profile: "trust-onyl" is not one of this bridge's TLS profiles/);
    await admin.sendMessage(roomId, "!hooks outbound set untrusted tls-profile trust-only");
    await notice(/^Outbound hook "untrusted" changed/);
    await admin.sendMessage(roomId, "trusted now");
    await notice(/^Outbound hook "untrusted" delivers again to https:\/\/127\.0\.0\.1:\d+/);
  });
});
