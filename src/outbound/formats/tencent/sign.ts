import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Tencent Cloud Chat's callback authentication ("Webhook Overview", Security Considerations,
 * https://www.tencentcloud.com/document/product/1047/34354): `Sign = hex(sha256(token +
 * RequestTime))`, with `Sign` and `RequestTime` (Unix seconds) added to the callback URL's query.
 * That page's worked example prints `17773bc3…` for token `xxxyyy` and time `1669872112`, which is
 * not the SHA-256 of `xxxyyy1669872112` (`e78a8547…`); we follow the formula, as receivers do.
 */
export function tencentSign(token: string, requestTimeSeconds: number): string {
  return createHash("sha256").update(token + String(requestTimeSeconds)).digest("hex");
}

/** How old (or how far ahead) a RequestTime a receiver accepts by default: Tencent's callbacks time out in 2 s. */
export const TENCENT_SIGN_MAX_AGE_SECONDS = 60;

/**
 * A receiver's check of a request's `Sign` and `RequestTime` query parameters (strings as they
 * came, or null when missing): true only when RequestTime is a whole number of seconds within
 * `maxAgeSeconds` of now (either way: a clock ahead of ours is refused too) and Sign is its
 * signature. The comparison takes the same time whatever the given Sign holds.
 */
export function verifyTencentSign(
  token: string,
  sign: string | null | undefined,
  requestTime: string | number | null | undefined,
  nowSeconds: number,
  maxAgeSeconds = TENCENT_SIGN_MAX_AGE_SECONDS,
): boolean {
  const time = requestTimeSeconds(requestTime);
  if (time === null || typeof sign !== "string") return false;
  if (Math.abs(nowSeconds - time) > maxAgeSeconds) return false;
  const expected = Buffer.from(tencentSign(token, time), "ascii");
  const given = Buffer.from(sign.toLowerCase(), "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** "1669872112" or 1669872112 → 1669872112; anything but plain digits (signs, fractions, exponents, blanks) → null. */
function requestTimeSeconds(value: string | number | null | undefined): number | null {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}
