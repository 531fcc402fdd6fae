import { describe, expect, it } from "vitest";
import { embeddedIPv4, parseIPv6 } from "./ip-ranges.js";

describe("parseIPv6", () => {
  it.each([
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["fe80::1%eth0", [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
    ["2001:db8::", [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
    ["::ffff:127.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ["::1.2.3.4", [0, 0, 0, 0, 0, 0, 0x102, 0x304]],
    ["1:2:3:4:5:6:1.2.3.4", [1, 2, 3, 4, 5, 6, 0x102, 0x304]],
    ["64:ff9b::10.0.0.1", [0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1]],
  ])("%s", (ip, groups) => {
    expect(parseIPv6(ip)).toEqual(groups);
  });

  it("returns null for anything else", () => {
    expect(parseIPv6("127.0.0.1")).toBeNull();
    expect(parseIPv6("1::2::3")).toBeNull();
  });
});

describe("embeddedIPv4", () => {
  const of = (ip: string) => embeddedIPv4(parseIPv6(ip)!);

  it("finds the IPv4 address in mapped, NAT64 and 6to4 forms only", () => {
    expect(of("::ffff:7f00:1")).toEqual({ ipv4: "127.0.0.1", kind: "an IPv4-mapped address" });
    expect(of("64:ff9b::7f00:1")).toEqual({ ipv4: "127.0.0.1", kind: "a NAT64 address" });
    expect(of("2002:c0a8:0101::1")).toEqual({ ipv4: "192.168.1.1", kind: "a 6to4 address" });
    expect(of("64:ff9b:1::7f00:1")).toBeNull();
    expect(of("2606:4700::1111")).toBeNull();
  });
});
