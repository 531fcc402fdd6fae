import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { tencentSign, verifyTencentSign } from "./sign.js";

const NOW = 1669872112;

describe("tencentSign", () => {
  it("is hex(sha256(token + RequestTime)), for the seed's token and time", () => {
    const computed = createHash("sha256").update("xxxyyy1669872112").digest("hex");
    expect(tencentSign("xxxyyy", 1669872112)).toBe(computed);
    expect(tencentSign("xxxyyy", 1669872112)).toBe("e78a85473bed2cdc8d6fa8c4d5a4ba4735fd64156e15a99516b9890293e135de");
  });

  it("does not give the seed's printed example, which does not match its own formula", () => {
    expect(tencentSign("xxxyyy", 1669872112)).not.toBe("17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061");
  });

  it("depends on both the token and the time", () => {
    expect(tencentSign("xxxyyz", NOW)).not.toBe(tencentSign("xxxyyy", NOW));
    expect(tencentSign("xxxyyy", NOW + 1)).not.toBe(tencentSign("xxxyyy", NOW));
  });
});

describe("verifyTencentSign", () => {
  const sign = tencentSign("xxxyyy", NOW);

  it("accepts a fresh, correct Sign, with RequestTime as a string or a number, in either hex case", () => {
    expect(verifyTencentSign("xxxyyy", sign, String(NOW), NOW)).toBe(true);
    expect(verifyTencentSign("xxxyyy", sign, NOW, NOW + 60)).toBe(true);
    expect(verifyTencentSign("xxxyyy", sign.toUpperCase(), NOW, NOW)).toBe(true);
  });

  it("refuses a RequestTime more than 60 s old or ahead, or older than the given maximum", () => {
    expect(verifyTencentSign("xxxyyy", sign, NOW, NOW + 61)).toBe(false);
    expect(verifyTencentSign("xxxyyy", sign, NOW, NOW - 61)).toBe(false);
    expect(verifyTencentSign("xxxyyy", sign, NOW, NOW + 11, 10)).toBe(false);
    expect(verifyTencentSign("xxxyyy", sign, NOW, NOW + 10, 10)).toBe(true);
  });

  it("refuses a wrong token, a Sign for another time, a truncated or missing Sign", () => {
    expect(verifyTencentSign("other", sign, NOW, NOW)).toBe(false);
    expect(verifyTencentSign("xxxyyy", tencentSign("xxxyyy", NOW - 1), NOW, NOW)).toBe(false);
    expect(verifyTencentSign("xxxyyy", sign.slice(0, 63), NOW, NOW)).toBe(false);
    expect(verifyTencentSign("xxxyyy", `${sign}0`, NOW, NOW)).toBe(false);
    expect(verifyTencentSign("xxxyyy", null, NOW, NOW)).toBe(false);
    expect(verifyTencentSign("xxxyyy", "", NOW, NOW)).toBe(false);
  });

  it("refuses a RequestTime that is not plain digits", () => {
    for (const time of [null, undefined, "", " 1669872112", "1669872112.0", "+1669872112", "-1", "1.669872112e9", "abc", 1669872112.5]) {
      expect(verifyTencentSign("xxxyyy", sign, time as string, NOW), String(time)).toBe(false);
    }
  });
});
