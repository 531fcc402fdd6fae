/**
 * Why did an https receiver close the connection before answering? With TLS 1.3 a receiver that
 * refuses the client certificate sends its alert after the handshake, and undici reports only
 * "other side closed". One more handshake, sending nothing, reads the alert
 * (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, …_UNKNOWN_CA, …_BAD_CERTIFICATE) when there is one.
 * Probes are bounded: one at a time per receiver and material, remembered for a while.
 */
import { isIP, type LookupFunction } from "node:net";
import { connect } from "node:tls";
import type { TlsMaterial } from "./tls-material.js";

const REMEMBER_MS = 30_000;
const MAX_REMEMBERED = 1000;

export interface TlsProbeOptions {
  /** The SSRF guard's lookup: the probe connects only where a delivery may. */
  lookup: LookupFunction;
}

export class TlsAlertProbe {
  private readonly recent = new Map<string, { at: number; alert: Promise<string | null> }>();

  constructor(private readonly opts: TlsProbeOptions) {}

  /** The TLS alert code the receiver at `url` answers a handshake with, or null (none within `timeoutMs`). */
  alert(url: string, tls: TlsMaterial | undefined, timeoutMs: number, now = Date.now()): Promise<string | null> {
    const { hostname, port, origin } = new URL(url);
    const key = `${origin}\0${tls?.id ?? ""}`;
    const known = this.recent.get(key);
    if (known && now - known.at < REMEMBER_MS && now >= known.at) return known.alert;
    if (this.recent.size >= MAX_REMEMBERED) this.recent.clear();
    const host = hostname.replace(/^\[|\]$/g, "");
    const alert = handshakeAlert({ host, port: Number(port || 443), tls, lookup: this.opts.lookup, timeoutMs });
    this.recent.set(key, { at: now, alert });
    return alert;
  }
}

function handshakeAlert(o: { host: string; port: number; tls: TlsMaterial | undefined; lookup: LookupFunction; timeoutMs: number }): Promise<string | null> {
  return new Promise((resolve) => {
    const { ca, cert, key, passphrase } = o.tls ?? {};
    const socket = connect({ host: o.host, port: o.port, lookup: o.lookup, ca, cert, key, passphrase, ...(isIP(o.host) ? {} : { servername: o.host }) });
    const done = (alert: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(alert);
    };
    const timer = setTimeout(() => done(null), Math.max(1, o.timeoutMs));
    // The receiver speaks (or the handshake stands): no alert to tell.
    socket.once("data", () => done(null));
    socket.once("close", () => done(null));
    socket.once("error", (err: NodeJS.ErrnoException) => done(typeof err.code === "string" && /^ERR_SSL_.*ALERT/.test(err.code) ? err.code : null));
  });
}
