import { isIP, isIPv4, isIPv6 } from "node:net";

/**
 * The string formats the schema uses. Each one is a pure check plus the words used in error
 * messages for what was expected.
 */
export interface StringFormat {
  validate: (value: string) => boolean;
  expected: string;
}

export const FORMATS = {
  "http-url": { validate: isHttpUrl, expected: "an http(s) URL such as https://matrix.example.org" },
  "server-name": { validate: isServerName, expected: "a server name such as example.org or example.org:8448" },
  host: { validate: isHost, expected: "an IP address or host name such as 127.0.0.1 or ::" },
  "mxc-uri": { validate: isMxcUri, expected: "an mxc:// URI such as mxc://example.org/abcDEF123" },
  "invite-entry": {
    validate: isInviteEntry,
    expected: `"*", a server name such as "example.org", or a user id such as "@alice:example.org"`,
  },
  cidr: { validate: (value: string) => parseCidr(value) !== null, expected: "a CIDR range such as 127.0.0.1/32 or fd00::/8" },
} satisfies Record<string, StringFormat>;

export type FormatName = keyof typeof FORMATS;

export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}

/** A Matrix server_name: host name, IPv4 or [IPv6], with an optional port. */
export function isServerName(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,255})(?::(\d{1,5}))?$/.exec(value);
  if (match === null) return false;
  const [, host = "", port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (host.startsWith("[")) return isIPv6(host.slice(1, -1));
  return isIPv4(host) || isDnsName(host);
}

/** What a listener can bind to: an IP literal (v4 or v6, no brackets) or a host name. */
export function isHost(value: string): boolean {
  return isIP(value) !== 0 || isDnsName(value);
}

export function isMxcUri(value: string): boolean {
  const match = /^mxc:\/\/([^/]+)\/[A-Za-z0-9_-]+$/.exec(value);
  return match !== null && isServerName(match[1] ?? "");
}

export function isInviteEntry(value: string): boolean {
  if (value === "*") return true;
  const user = /^@[^:]+:(.+)$/.exec(value);
  return isServerName(user === null ? value : (user[1] ?? ""));
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** Parses "address/prefix" (IPv4 or IPv6); null when it is not one. */
export function parseCidr(value: string): Cidr | null {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (match === null) return null;
  const [, address = "", prefixText = ""] = match;
  const family = isIP(address);
  const prefix = Number(prefixText);
  if (family === 4 && prefix <= 32) return { address, prefix, family: 4 };
  if (family === 6 && prefix <= 128) return { address, prefix, family: 6 };
  return null;
}

function isDnsName(value: string): boolean {
  return (
    value.length <= 253 &&
    value.split(".").every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
  );
}
