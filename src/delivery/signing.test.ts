import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { newSigningSecret, signatureHeader, standardWebhookHeaders } from "./signing.js";

describe("Standard Webhooks signing", () => {
  const body = JSON.stringify({ event_id: "$1", content: { body: "héllo" } });

  it("is verified by the standardwebhooks package", async () => {
    const secret = newSigningSecret();
    const headers = await standardWebhookHeaders({ id: "msg_abc", secrets: [secret], body });
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("signs with every key during a rotation, and each verifies", async () => {
    const oldSecret = newSigningSecret();
    const newSecret = newSigningSecret();
    const headers = await standardWebhookHeaders({ id: "msg_rot", secrets: [newSecret, oldSecret], body });
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
  });

  it("matches the specification's published example", () => {
    // From the Standard Webhooks spec: secret, id, timestamp, payload and expected signature.
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const payload = '{"test": 2432232314}';
    expect(signatureHeader([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload)).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("always sends webhook-id, and no signature when the hook has no secret", async () => {
    const headers = await standardWebhookHeaders({ id: "msg_x", secrets: [], body, now: 1_700_000_000_000 });
    expect(headers).toEqual({ "webhook-id": "msg_x", "webhook-timestamp": "1700000000" });
  });

  it("signs a body kept in a file exactly as the same body in memory", async () => {
    const secret = newSigningSecret();
    const path = join(tmpdir(), `mwb-sign-${process.pid}.bin`);
    writeFileSync(path, body);
    const fromFile = await standardWebhookHeaders({ id: "msg_f", secrets: [secret], body: { kind: "file", path }, now: 1_700_000_000_000 });
    const fromMemory = await standardWebhookHeaders({ id: "msg_f", secrets: [secret], body, now: 1_700_000_000_000 });
    expect(fromFile).toEqual(fromMemory);
    expect(() => new Webhook(secret).verify(body, fromFile)).toThrow(/timestamp/i);
  });

  it("signs an in-memory Buffer (multipart without a file) over its exact bytes", async () => {
    const secret = newSigningSecret();
    const bytes = Buffer.from([0x2d, 0x2d, 0xff, 0xfe, 0x00, 0x0d, 0x0a]);
    const headers = await standardWebhookHeaders({ id: "msg_b", secrets: [secret], body: bytes, now: 1_700_000_000_000 });
    const mac = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64")).update("msg_b.1700000000.").update(bytes).digest("base64");
    expect(headers["webhook-signature"]).toBe(`v1,${mac}`);
    expect(await standardWebhookHeaders({ id: "msg_b", secrets: [secret], body: { kind: "memory", body: bytes }, now: 1_700_000_000_000 })).toEqual(headers);
  });
});
