import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Checks GitHub's X-Hub-Signature-256 ("sha256=" + hex HMAC-SHA256 of the raw body with the
 * hook's secret), in constant time.
 */
export function githubSignatureValid(secret: string, body: Buffer, header: string | undefined): boolean {
  if (typeof header !== "string") return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, "hex"));
}

/** The header value GitHub would send (tests and the demo sign with it). */
export function githubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
