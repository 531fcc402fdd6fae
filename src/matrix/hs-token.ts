import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";

/** The token the homeserver presented: `Authorization: Bearer …` (current) or `?access_token=` (legacy). */
export function presentedToken(req: Request): string | null {
  const header = req.headers.authorization;
  if (typeof header === "string" && header.startsWith("Bearer ")) return header.slice("Bearer ".length).trim();
  const query = req.query.access_token;
  return typeof query === "string" ? query : null;
}

/** Constant-time comparison: both sides are hashed first so their lengths leak nothing either. */
export function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
