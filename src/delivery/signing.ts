import { createHmac, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `id.timestamp.body` with each valid secret, sent as space-separated `v1,<base64>` entries so a
 * receiver keeps verifying while a rotation is under way.
 */
const PREFIX = "whsec_";

/** A fresh secret: `whsec_` + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

function secretBytes(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error("A signing secret must start with whsec_");
  return Buffer.from(secret.slice(PREFIX.length), "base64");
}

export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string | Buffer): string {
  const signed = Buffer.concat([Buffer.from(`${id}.${timestampSeconds}.`), typeof body === "string" ? Buffer.from(body) : body]);
  return secrets.map((s) => `v1,${createHmac("sha256", secretBytes(s)).update(signed).digest("base64")}`).join(" ");
}

/** The same signature over a body kept in a file (multipart with media), read once, streamed. */
export async function fileSignatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, path: string): Promise<string> {
  const macs = secrets.map((s) => createHmac("sha256", secretBytes(s)).update(`${id}.${timestampSeconds}.`));
  for await (const chunk of createReadStream(path)) for (const mac of macs) mac.update(chunk as Buffer);
  return macs.map((mac) => `v1,${mac.digest("base64")}`).join(" ");
}

/** A body in memory (JSON, or multipart without a file), or in a file (multipart with media). */
export type SignedBody = { kind: "memory"; body: string | Buffer } | { kind: "file"; path: string };

/** `webhook-id` and `webhook-timestamp`, which every delivery carries (receivers drop duplicates by the id). */
export function webhookIdHeaders(id: string, now = Date.now()): Record<string, string> {
  return { "webhook-id": id, "webhook-timestamp": String(Math.floor(now / 1000)) };
}

/** The id headers, and the signature when the hook signs. */
export async function standardWebhookHeaders(opts: { id: string; secrets: readonly string[]; body: string | Buffer | SignedBody; now?: number }): Promise<Record<string, string>> {
  const headers = webhookIdHeaders(opts.id, opts.now);
  if (opts.secrets.length === 0) return headers;
  const timestamp = Number(headers["webhook-timestamp"]);
  const body: SignedBody = typeof opts.body === "string" || Buffer.isBuffer(opts.body) ? { kind: "memory", body: opts.body } : opts.body;
  headers["webhook-signature"] =
    body.kind === "memory"
      ? signatureHeader(opts.secrets, opts.id, timestamp, body.body)
      : await fileSignatureHeader(opts.secrets, opts.id, timestamp, body.path);
  return headers;
}
