/**
 * Why a delivery attempt failed, in words a room admin can act on: the categories of a webhook
 * platform's diagnostics table (DNS, unreachable address, refused connection, timeout, TLS, mutual
 * TLS, HTTP status, unparseable answer). Pure: it reads the sender's outcome (kind, error code,
 * status) and nothing else. Used for failure notices, metrics labels and status output.
 */
import type { AttemptResult } from "./policy.js";

/** Stable ids: metrics labels and anything a machine reads. */
export const FAILURE_CATEGORY_IDS = [
  "dns",
  "unreachable",
  "connection-refused",
  "connection-reset",
  "timeout",
  "tls-certificate",
  "mutual-tls",
  "tls",
  "http-status",
  "unparseable-response",
  "other",
] as const;

export type FailureCategoryId = (typeof FAILURE_CATEGORY_IDS)[number];

export interface FailureCategory {
  id: FailureCategoryId;
  /** Short, with the code or status that proves it: `connection refused (ECONNREFUSED)`. */
  summary: string;
  /** What it means and where to look, one sentence. */
  description: string;
}

/** What the sender reports about a failed attempt (a subset of SendOutcome). */
export interface FailedAttempt {
  result: AttemptResult;
  /** "CODE: message" or a message (the sender's describeError), or null. */
  error: string | null;
  /** The error's code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_SSRF_BLOCKED …) when known. */
  code?: string | null;
  /** The attempt presented a TLS client certificate and failed before any answer (see SendOutcome). */
  presentedClientCertificate?: boolean;
}

const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_NODATA", "EAI_FAIL", "ESERVFAIL", "ENODATA", "ENONAME", "EREFUSED"]);
const UNREACHABLE_CODES = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL"]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
/** Codes Node gives when it cannot verify the receiver's certificate (OpenSSL's X509_V_ERR_* names). */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_CRL",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_CERT_ALTNAME_FORMAT",
]);
/**
 * TLS alerts the receiver sends about the certificate we presented (or did not): the receiver
 * wants mutual TLS. Handshake failure is ambiguous in TLS 1.2 (no shared cipher gives it too), but
 * a missing client certificate is by far its commonest cause; the description says both.
 */
const CLIENT_CERT_ALERTS = /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE)$/;

/** Codes of a connection closed or reset under the bridge's feet. */
export const isResetCode = (code: string): boolean => RESET_CODES.has(code);

/** The code at the start of a "CODE: message" error string, as the sender writes them. */
export function codeOf(error: string | null): string | null {
  const match = error === null ? null : /^([A-Z][A-Z0-9_/]{2,}): /.exec(error);
  return match ? match[1]! : null;
}

/** Classifies a failed attempt. A 2xx given here counts as an HTTP status (it is not a failure to classify). */
export function classifyFailure(attempt: FailedAttempt): FailureCategory {
  const { result } = attempt;
  switch (result.kind) {
    case "response":
      return httpStatus(result.status);
    case "timeout":
      return timeout(attempt.error);
    case "refused":
      return {
        id: "unreachable",
        summary: "address refused by the bridge's address guard",
        description: `the bridge sends to no private, loopback or reserved address unless delivery.allowedNetworks allows it: ${withoutUrlPaths(result.reason)}.`,
      };
    case "unusable":
      return unparseableResponse(result.reason);
    case "network":
      return byCode(attempt.code ?? codeOf(attempt.error ?? result.error), attempt.error ?? result.error, attempt.presentedClientCertificate === true);
  }
}

function byCode(code: string | null, error: string, presentedClientCertificate: boolean): FailureCategory {
  const tagged = (summary: string) => (code ? `${summary} (${code})` : summary);
  if (code !== null) {
    if (DNS_CODES.has(code)) return { id: "dns", summary: tagged("DNS failure"), description: "the receiver's host name does not resolve: check the URL's host name and that it is known in public DNS (or to this machine's resolver)." };
    if (UNREACHABLE_CODES.has(code)) return { id: "unreachable", summary: tagged("address not reachable"), description: "no route to the receiver's address from the bridge: check that the host is up and that a firewall lets the bridge through." };
    if (code === "ECONNREFUSED") return { id: "connection-refused", summary: tagged("connection refused"), description: "the receiver's host answered, but nothing accepts connections on that port: check that the receiver's web server is running and the URL's port." };
    if (RESET_CODES.has(code) && presentedClientCertificate) {
      // A Node or Go receiver that does not trust the certificate closes without a TLS alert.
      return { id: "mutual-tls", summary: `mutual TLS refused (${code} after presenting the client certificate)`, description: "the receiver closed the connection, without answering or saying why, after the TLS handshake in which the bridge presented the hook's client certificate: most likely it does not trust that certificate (signed by a CA it does not accept, expired, or not for client authentication)." };
    }
    if (RESET_CODES.has(code)) return { id: "connection-reset", summary: tagged("connection reset"), description: "the receiver closed the connection before answering: it may have crashed on the request, or a proxy or firewall cut it (also seen when an https URL is sent as http)." };
    if (TIMEOUT_CODES.has(code)) return timeout(error);
    if (CERTIFICATE_CODES.has(code) || code.startsWith("CERT_") || code.startsWith("ERR_TLS_CERT")) {
      return { id: "tls-certificate", summary: tagged("TLS certificate error"), description: "the receiver's HTTPS certificate is not valid for the bridge (self-signed, unknown issuer, expired, or for another host name): check the receiver's certificate chain and the URL's host name; a receiver with a private CA needs the hook to trust that CA (a tls_profile with a ca, or \"!hooks outbound tls <hook> ca\")." };
    }
    if (code.startsWith("ERR_SSL_") && CLIENT_CERT_ALERTS.test(code)) return mutualTlsAlert(code, presentedClientCertificate);
    if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) {
      return { id: "tls", summary: tagged("TLS error"), description: "the TLS handshake with the receiver failed (for example an https URL on a port that speaks plain http)." };
    }
  }
  return { id: "other", summary: tagged("delivery error"), description: `${withoutUrlPaths(error)}.` };
}

function mutualTlsAlert(code: string, presented: boolean): FailureCategory {
  const summary = `mutual TLS refused (${code})`;
  if (code.endsWith("CERTIFICATE_REQUIRED") || (!presented && code.endsWith("HANDSHAKE_FAILURE"))) {
    const has = presented ? "it did not take the one the bridge presented" : "the hook has none";
    return { id: "mutual-tls", summary, description: `the receiver requires a TLS client certificate and ${has}: give the hook one (its tls_profile, or "!hooks outbound tls <hook> cert|key"), or, rarely, the receiver shares no cipher with the bridge.` };
  }
  const which = presented ? "the hook's client certificate" : "the bridge's (missing) client certificate";
  return { id: "mutual-tls", summary, description: `the receiver refused the TLS handshake because of ${which}: it wants mutual TLS with a certificate it trusts (check that the receiver accepts the CA that signed it, and that it has not expired).` };
}

function timeout(error: string | null): FailureCategory {
  const within = error === null ? null : /no answer within (\d+) ms/.exec(error);
  const limit = within ? ` (no answer within ${seconds(Number(within[1]))})` : "";
  return {
    id: "timeout",
    summary: `timeout${limit}`,
    description: "the receiver did not answer in time (delivery.timeoutSeconds): it may be overloaded, hanging, or behind a firewall that drops the bridge's packets.",
  };
}

function httpStatus(status: number): FailureCategory {
  return { id: "http-status", summary: `HTTP status ${status}`, description: statusHint(status) };
}

function statusHint(status: number): string {
  if (status >= 300 && status < 400) return "the receiver redirects, and the bridge follows no redirects: set the hook's URL to where it redirects.";
  if (status === 401 || status === 403) return "the receiver refused the request: check the token or signature it expects (\"!hooks outbound token\" shows the hook's token).";
  if (status === 404) return "nothing is served at that path on the receiver: check the URL's path.";
  if (status === 410) return "the receiver says this webhook is gone for good.";
  if (status === 413) return "the receiver found the request too large.";
  if (status === 429) return "the receiver asks the bridge to slow down (rate limited); deliveries are retried later.";
  if (status >= 500) return "the receiver failed on the request (an error or overload on its side); deliveries are retried.";
  if (status >= 400) return "the receiver refused the request as invalid; such deliveries are not retried.";
  return "the receiver did not answer with a 2xx status.";
}

/** For answers a format could not use (chat replies, callback verdicts). */
export function unparseableResponse(reason: string): FailureCategory {
  return { id: "unparseable-response", summary: "response not parseable", description: `the receiver's answer could not be used: ${withoutUrlPaths(reason)}.` };
}

const seconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/** URLs in error text reduced to their origin: paths and queries may carry secrets. */
export function withoutUrlPaths(text: string): string {
  const cut = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (match) => {
    // Punctuation after a URL in prose ("(at https://h/p)") is the sentence's, not the URL's.
    const trailing = /[).,;:!?\]]+$/.exec(match)?.[0] ?? "";
    const url = match.slice(0, match.length - trailing.length);
    const origin = URL.canParse(url) ? new URL(url).origin : "null";
    return (origin === "null" ? "<url>" : origin) + trailing;
  });
  const trimmed = cut.replace(/[.\s]+$/, "");
  return trimmed.length > 300 ? `${trimmed.slice(0, 299)}…` : trimmed;
}
