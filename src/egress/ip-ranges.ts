import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * Address ranges a webhook must not reach, each with the words used in refusals. Checked in
 * order, so the specific labels (broadcast, ::1) come before the ranges that contain them.
 */
const V4_RANGES: Array<[label: string, cidrs: string[]]> = [
  [`a "this network" address`, ["0.0.0.0/8"]],
  ["a loopback address", ["127.0.0.0/8"]],
  ["a private address", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]],
  ["a carrier-grade NAT address", ["100.64.0.0/10"]],
  ["a link-local address", ["169.254.0.0/16"]],
  ["a documentation address", ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]],
  ["a benchmarking address", ["198.18.0.0/15"]],
  ["a multicast address", ["224.0.0.0/4"]],
  ["a broadcast address", ["255.255.255.255/32"]],
  // 192.88.99.0/24 is the retired 6to4 relay anycast range.
  ["a reserved address", ["192.0.0.0/24", "192.88.99.0/24", "240.0.0.0/4"]],
];

const V6_RANGES: Array<[label: string, cidrs: string[]]> = [
  ["an unspecified address", ["::/128"]],
  ["a loopback address", ["::1/128"]],
  ["a deprecated IPv4-compatible address", ["::/96"]],
  ["a private (unique local) address", ["fc00::/7"]],
  ["a link-local address", ["fe80::/10"]],
  ["a deprecated site-local address", ["fec0::/10"]],
  ["a multicast address", ["ff00::/8"]],
  ["a documentation address", ["2001:db8::/32", "3fff::/20"]],
  ["a benchmarking address", ["2001:2::/48"]],
  // Teredo hides an obfuscated IPv4 address; nobody serves webhooks from one.
  ["a Teredo address", ["2001::/32"]],
  ["a discard-only address", ["100::/64"]],
  ["a reserved address", ["64:ff9b:1::/48", "::ffff:0:0:0/96"]],
];

/** One BlockList per label, so a hit can say which range it was. */
function compile(ranges: Array<[string, string[]]>, type: "ipv4" | "ipv6"): Array<[string, BlockList]> {
  return ranges.map(([label, cidrs]) => {
    const list = new BlockList();
    for (const cidr of cidrs) {
      const [address = "", prefix = ""] = cidr.split("/");
      list.addSubnet(address, Number(prefix), type);
    }
    return [label, list];
  });
}

const V4_LISTS = compile(V4_RANGES, "ipv4");
const V6_LISTS = compile(V6_RANGES, "ipv6");

/** The eight 16-bit groups of an IPv6 address (zone id ignored); null when it is not one. */
export function parseIPv6(ip: string): number[] | null {
  if (!isIPv6(ip)) return null;
  let text = ip.split("%")[0] ?? "";
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, dotted.index);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const groups = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const [head = "", rest] = text.split("::");
  const left = groups(head);
  const right = [...(rest === undefined ? [] : groups(rest)), ...tail];
  if (rest === undefined) return [...left, ...right];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

export interface EmbeddedIPv4 {
  ipv4: string;
  /** How the IPv6 address carries it, as in "an IPv4-mapped address". */
  kind: string;
}

/** The IPv4 address an IPv6 one actually reaches, for the forms that carry one. */
export function embeddedIPv4(groups: number[]): EmbeddedIPv4 | null {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeroTo4 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroTo4 && g5 === 0xffff) return { ipv4: v4(g6, g7), kind: "an IPv4-mapped address" };
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return { ipv4: v4(g6, g7), kind: "a NAT64 address" };
  }
  if (g0 === 0x2002) return { ipv4: v4(g1 ?? 0, g2 ?? 0), kind: "a 6to4 address" };
  return null;
}

/** Which addresses the operator has explicitly allowed, per family. */
export interface AllowList {
  v4: BlockList;
  v6: BlockList;
}

/**
 * Why `ip` must not be contacted ("a loopback address", "an IPv4-mapped address of 127.0.0.1,
 * a loopback address"), or null when it may be. Not an IP address at all → a reason too.
 */
export function blockedLabel(ip: string, allowed: AllowList): string | null {
  if (isIPv4(ip)) {
    // Separate v4/v6 lists: node's BlockList would match v4 addresses against v6 rules like ::/0.
    if (allowed.v4.check(ip, "ipv4")) return null;
    return V4_LISTS.find(([, list]) => list.check(ip, "ipv4"))?.[0] ?? null;
  }
  const groups = parseIPv6(ip);
  if (groups === null) return "not an IP address";
  const bare = ip.split("%")[0] ?? "";
  if (allowed.v6.check(bare, "ipv6")) return null;
  const embedded = embeddedIPv4(groups);
  if (embedded !== null) {
    const inner = blockedLabel(embedded.ipv4, allowed);
    return inner === null ? null : `${embedded.kind} of ${embedded.ipv4}, ${inner}`;
  }
  return V6_LISTS.find(([, list]) => list.check(bare, "ipv6"))?.[0] ?? null;
}
