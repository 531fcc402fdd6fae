import { describe, expect, it } from "vitest";
import { classifyFailure } from "../delivery/failure-category.js";
import { describeLastFailure, storedFailure } from "./outbound-delivery-commands.js";

const attempt = (outcome: string, status: number | null, error: string | null, at: number) => ({ eventId: "$e", attempt: 1, outcome, status, error, durationMs: 3, at });

describe("the last failure in status", () => {
  it("names the category, its description and the time", () => {
    const category = classifyFailure({ result: { kind: "network", error: "x" }, error: "x", code: "ECONNRESET", presentedClientCertificate: true });
    expect(describeLastFailure({ category, at: Date.UTC(2026, 0, 2, 3, 4, 5) })).toMatch(
      /^Last failure, 2026-01-02 03:04:05 UTC: mutual TLS refused \(ECONNRESET after presenting the client certificate\) \[mutual-tls\]\. The receiver closed/,
    );
    expect(describeLastFailure(undefined)).toBe("No failed attempt known.");
  });

  it("after a restart, classifies the newest failed attempt the store kept", () => {
    expect(storedFailure([attempt("success", 200, null, 3), attempt("retry", null, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: alert", 2)])).toMatchObject({ at: 2, category: { id: "mutual-tls" } });
    expect(storedFailure([attempt("failed", 404, null, 5)])).toMatchObject({ category: { id: "http-status", summary: "HTTP status 404" } });
    expect(storedFailure([attempt("retry", null, "no answer within 3000 ms", 5)])).toMatchObject({ category: { id: "timeout" } });
    expect(storedFailure([attempt("success", 200, null, 3)])).toBeUndefined();
  });
});
