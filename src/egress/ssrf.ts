/**
 * SSRF guard for outbound webhooks: refuses loopback, private, link-local, reserved … addresses
 * (and IPv6 forms that smuggle such an IPv4 address) unless delivery.allowedNetworks allows them.
 *
 * Sender usage, two pieces and both are needed:
 *   const agent = new Agent({ connect: { lookup: guard.lookup } });  // once
 *   guard.assertSendable(url);                                       // before every attempt
 *   await request(url, { dispatcher: agent, … });
 *
 * - `lookup` checks host names at connect time and hands net/tls exactly the addresses it
 *   checked, so a DNS answer cannot change between the check and the connect (rebinding).
 *   undici spreads `connect` options into net.connect()/tls.connect(), which call `lookup`.
 * - net.connect() never calls `lookup` for IP literals, so `assertSendable` checks those. It
 *   is synchronous on purpose: a forgotten `await` cannot let a request slip through.
 * Both throw/fail with SsrfBlockedError (code ERR_SSRF_BLOCKED); undici rejects the request
 * with that error itself. `checkUrl` is the friendlier up-front check for `!hooks outbound add`.
 */
import { promises as dns } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { parseCidr } from "../config/formats.js";
import { blockedLabel, type AllowList } from "./ip-ranges.js";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const SSRF_BLOCKED = "ERR_SSRF_BLOCKED";

export class SsrfBlockedError extends Error {
  readonly code = SSRF_BLOCKED;

  constructor(message: string) {
    super(message);
    this.name = "SsrfBlockedError";
  }
}

const HINT = "allow it with delivery.allowedNetworks";

const systemResolver: Resolver = async (host) => {
  const answers = await dns.lookup(host, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export class SsrfGuard {
  private readonly allowed: AllowList = { v4: new BlockList(), v6: new BlockList() };
  private readonly sendable = new Map<string, string | null>();

  constructor(
    allowedNetworks: string[],
    private readonly resolver: Resolver = systemResolver,
  ) {
    for (const entry of allowedNetworks) {
      const cidr = parseCidr(entry);
      if (cidr === null) throw new Error(`delivery.allowedNetworks: "${entry}" is not a CIDR range`);
      const family = cidr.family === 4 ? "ipv4" : "ipv6";
      this.allowed[cidr.family === 4 ? "v4" : "v6"].addSubnet(cidr.address, cidr.prefix, family);
    }
  }

  /** Null when `ip` may be contacted, else e.g. "127.0.0.1 is a loopback address". */
  checkAddress(ip: string): string | null {
    const label = blockedLabel(ip, this.allowed);
    return label === null ? null : `${ip} is ${label}`;
  }

  /** Up-front check of a hook URL: null when every address its host resolves to is allowed. */
  async checkUrl(url: string): Promise<string | null> {
    const host = hostOf(url);
    if (host === null) return `${url} is not an http(s) URL`;
    if (isIP(host) !== 0) {
      const reason = this.checkAddress(host);
      return reason === null ? null : `${reason}; ${HINT}`;
    }
    let addresses: ResolvedAddress[];
    try {
      addresses = await this.resolver(host);
    } catch {
      return `${host} does not resolve`;
    }
    if (addresses.length === 0) return `${host} does not resolve`;
    return this.refusal(host, addresses);
  }

  /**
   * Throws SsrfBlockedError when `url` names a forbidden IP literal. Host names pass here: the
   * Agent's `lookup` checks them when it connects. Cheap, no DNS.
   */
  assertSendable(url: string): void {
    let refusal = this.sendable.get(url);
    if (refusal === undefined) {
      refusal = this.literalRefusal(url);
      // The answer depends only on the URL and the allow-list: remember it (bounded).
      if (this.sendable.size >= 10_000) this.sendable.clear();
      this.sendable.set(url, refusal);
    }
    if (refusal !== null) throw new SsrfBlockedError(refusal);
  }

  private literalRefusal(url: string): string | null {
    const host = hostOf(url);
    if (host === null) return `${url} is not an http(s) URL`;
    if (isIP(host) === 0) return null;
    const reason = this.checkAddress(host);
    return reason === null ? null : `refusing to connect: ${reason}; ${HINT}`;
  }

  /** net.connect's `lookup` option: resolve, refuse if any answer is forbidden, else answer. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolver(hostname).then(
      (resolved) => {
        const reason = this.refusal(hostname, resolved);
        if (reason !== null) return callback(new SsrfBlockedError(`refusing to connect: ${reason}`), "");
        const wanted = familyOf(options.family);
        const usable = resolved.filter((a) => wanted === 0 || a.family === wanted);
        const first = usable[0];
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} does not resolve`);
          err.code = "ENOTFOUND";
          return callback(err, "");
        }
        if (options.all === true) return callback(null, usable);
        return callback(null, first.address, first.family);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), ""),
    );
  };

  /** The reason to refuse `host` when ANY of its addresses is forbidden. */
  private refusal(host: string, addresses: ResolvedAddress[]): string | null {
    for (const { address } of addresses) {
      const label = blockedLabel(address, this.allowed);
      if (label !== null) return `${host} resolves to ${address}, ${label}; ${HINT}`;
    }
    return null;
  }
}

function familyOf(family: number | string | undefined): 0 | 4 | 6 {
  if (family === 4 || family === "IPv4") return 4;
  if (family === 6 || family === "IPv6") return 6;
  return 0;
}

/** The host of an http(s) URL without IPv6 brackets (WHATWG-normalised, e.g. 0x7f.1 → 127.0.0.1). */
function hostOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const { protocol, hostname } = new URL(url);
  if (protocol !== "http:" && protocol !== "https:") return null;
  return hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
}
