/**
 * A hook's TLS material: a CA bundle to trust a receiver with a private CA, and a client
 * certificate with its key for mutual TLS. Pure checks with node:crypto (PEM parses, the key opens,
 * certificate and key match) and descriptions that never show the PEM itself.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";

/** What the sender gets: PEM text, and `id`, a stable hash of it (one connection pool per distinct material). */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  id: string;
}

/** The parts as given (config files, or uploaded by command); null: not given. */
export interface TlsParts {
  ca: string | null;
  cert: string | null;
  key: string | null;
  passphrase: string | null;
}

export type TlsPart = "ca" | "cert" | "key";
export const TLS_PARTS: readonly TlsPart[] = ["ca", "cert", "key"];

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?\r?\n-----END \1-----/g;

/** The PEM blocks in `text` (a message may wrap them in a code block or add words around them). */
export function pemBlocks(text: string): Array<{ label: string; pem: string }> {
  return [...text.replace(/\r\n/g, "\n").matchAll(BLOCK)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

const isKeyLabel = (label: string): boolean => /PRIVATE KEY$/.test(label);

/**
 * The PEM of one part from free text: the certificate blocks for `ca` (a bundle) and `cert` (leaf
 * first, then its chain), the one private key block for `key`. Throws with a reason otherwise.
 */
export function pemOfPart(part: TlsPart, text: string): string {
  const blocks = pemBlocks(text);
  if (blocks.length === 0) throw new Error("no PEM block (-----BEGIN …----- … -----END …-----) found");
  const keys = blocks.filter((b) => isKeyLabel(b.label));
  const certs = blocks.filter((b) => b.label === "CERTIFICATE");
  if (part === "key") {
    if (keys.length !== 1) throw new Error(keys.length === 0 ? "no private key block found" : "more than one private key block found");
    if (certs.length > 0) throw new Error("the key's message also holds certificates: send the certificate on its own");
    return `${keys[0]!.pem}\n`;
  }
  if (keys.length > 0) throw new Error("it holds a private key: send keys only with the key part");
  if (certs.length === 0) throw new Error("no CERTIFICATE block found");
  return `${certs.map((c) => c.pem).join("\n")}\n`;
}

function certificates(pem: string, what: string): X509Certificate[] {
  const blocks = pemBlocks(pem).filter((b) => b.label === "CERTIFICATE");
  if (blocks.length === 0) throw new Error(`${what} holds no CERTIFICATE block`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b.pem);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of ${what} does not parse: ${(err as Error).message}`);
    }
  });
}

function privateKey(pem: string, passphrase: string | null): KeyObject {
  if (passphrase === null && /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) throw new Error("the key is encrypted and no passphrase is given");
  try {
    return createPrivateKey(passphrase === null ? { key: pem } : { key: pem, passphrase });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_MISSING_PASSPHRASE") throw new Error("the key is encrypted and no passphrase is given");
    if (passphrase !== null && /bad decrypt|BAD_DECRYPT/i.test((err as Error).message)) throw new Error("the key does not open with the passphrase given");
    throw new Error(`the key does not parse: ${(err as Error).message}`);
  }
}

/**
 * Every problem with the parts, each naming its part (`ca`, `cert`, `key`, `passphrase`).
 * `partial`: a certificate without its key (or a key without its certificate) is allowed (uploads
 * come one part at a time); they are still checked against each other when both are there.
 */
export function tlsProblems(parts: TlsParts, opts: { partial?: boolean } = {}): Array<{ part: TlsPart | "passphrase"; message: string }> {
  const problems: Array<{ part: TlsPart | "passphrase"; message: string }> = [];
  const attempt = <T>(part: TlsPart, run: () => T): T | null => {
    try {
      return run();
    } catch (err) {
      problems.push({ part, message: (err as Error).message });
      return null;
    }
  };
  if (parts.ca !== null) {
    attempt("ca", () => {
      if (pemBlocks(parts.ca!).some((b) => isKeyLabel(b.label))) throw new Error("the CA bundle holds a private key; it must hold certificates only");
      return certificates(parts.ca!, "the CA bundle");
    });
  }
  const leaf = parts.cert === null ? null : attempt("cert", () => certificates(parts.cert!, "the client certificate")[0]!);
  const key = parts.key === null ? null : attempt("key", () => privateKey(parts.key!, parts.passphrase));
  if (leaf && key && !leaf.checkPrivateKey(key)) problems.push({ part: "key", message: "the key does not belong to the client certificate (they do not match)" });
  if (!opts.partial) {
    if (parts.cert !== null && parts.key === null) problems.push({ part: "key", message: "a client certificate needs its private key" });
    if (parts.key !== null && parts.cert === null) problems.push({ part: "cert", message: "a private key needs its client certificate" });
  }
  if (parts.passphrase !== null && parts.key === null) problems.push({ part: "passphrase", message: "a passphrase without a key" });
  return problems;
}

/**
 * What the sender uses: the CA bundle, and the client certificate only with its key (a half
 * uploaded pair is not sent). Null when there is nothing to use.
 */
export function tlsMaterial(parts: TlsParts): TlsMaterial | null {
  const pair = parts.cert !== null && parts.key !== null;
  if (parts.ca === null && !pair) return null;
  const material: Omit<TlsMaterial, "id"> = {
    ...(parts.ca !== null ? { ca: parts.ca } : {}),
    ...(pair ? { cert: parts.cert!, key: parts.key!, ...(parts.passphrase !== null ? { passphrase: parts.passphrase } : {}) } : {}),
  };
  const hash = createHash("sha256");
  for (const value of [material.ca, material.cert, material.key, material.passphrase]) hash.update(`${value?.length ?? -1}:${value ?? ""}`);
  return { ...material, id: hash.digest("hex").slice(0, 32) };
}

/** "CN=…; issuer CN=…; expires 2126-01-01 (SHA-256 AB:CD:…)": what status and notices may show. */
export function describeCertificate(pem: string, now = Date.now()): string {
  const [cert] = certificates(pem, "the certificate");
  const expires = new Date(cert!.validTo);
  const expired = expires.getTime() < now ? ", EXPIRED" : "";
  const oneLine = (name: string) => name.split("\n").filter(Boolean).join(", ");
  return `${oneLine(cert!.subject)}; issuer ${oneLine(cert!.issuer)}; expires ${expires.toISOString().slice(0, 10)}${expired} (SHA-256 ${cert!.fingerprint256.slice(0, 23)}…)`;
}

/** A CA bundle in a few words: how many certificates, and the first one's description. */
export function describeBundle(pem: string, now = Date.now()): string {
  const count = certificates(pem, "the CA bundle").length;
  return `${count === 1 ? "1 certificate" : `${count} certificates`}, first: ${describeCertificate(pem, now)}`;
}
