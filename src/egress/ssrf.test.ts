import { createServer, type Server } from "node:http";
import type { LookupAddress } from "node:dns";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SsrfGuard, type Resolver } from "./ssrf.js";

/** A resolver from a fixed table: tests never touch real DNS. */
const fixed =
  (table: Record<string, string[]>): Resolver =>
  async (host) => {
    const answers = table[host];
    if (answers === undefined) throw Object.assign(new Error(`no such host ${host}`), { code: "ENOTFOUND" });
    return answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

describe("checkAddress", () => {
  const guard = new SsrfGuard([]);

  it.each([
    ["0.0.0.0", `"this network"`],
    ["0.1.2.3", `"this network"`],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.5", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.255", "carrier-grade NAT"],
    ["169.254.169.254", "link-local"],
    ["192.0.0.8", "reserved"],
    ["192.0.2.1", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.1", "benchmarking"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fc00::1", "private (unique local)"],
    ["fd12:3456::1", "private (unique local)"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["::7f00:1", "deprecated IPv4-compatible"],
    ["::1.1.1.1", "deprecated IPv4-compatible"],
  ])("%s is refused as %s", (ip, kind) => {
    expect(guard.checkAddress(ip)).toBe(`${ip} is ${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} address`);
  });

  it.each([
    ["::ffff:127.0.0.1", "an IPv4-mapped address of 127.0.0.1, a loopback address"],
    ["::ffff:7f00:1", "an IPv4-mapped address of 127.0.0.1, a loopback address"],
    ["::ffff:10.0.0.5", "an IPv4-mapped address of 10.0.0.5, a private address"],
    ["64:ff9b::a9fe:a9fe", "a NAT64 address of 169.254.169.254, a link-local address"],
    ["64:ff9b::192.168.0.1", "a NAT64 address of 192.168.0.1, a private address"],
    ["2002:7f00:1::", "a 6to4 address of 127.0.0.1, a loopback address"],
    ["2002:0a00:0005:1::2", "a 6to4 address of 10.0.0.5, a private address"],
  ])("%s is checked as the IPv4 address it embeds", (ip, reason) => {
    expect(guard.checkAddress(ip)).toBe(`${ip} is ${reason}`);
  });

  it.each(["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:1.1.1.1", "64:ff9b::808:808", "2002:0101:0101::1"])(
    "%s is allowed",
    (ip) => {
      expect(guard.checkAddress(ip)).toBeNull();
    },
  );

  it("says when the text is not an address", () => {
    expect(guard.checkAddress("example.org")).toBe("example.org is not an IP address");
  });

  it("lets allow-listed networks through, and only those", () => {
    const allowing = new SsrfGuard(["127.0.0.1/32", "fd00::/8"]);
    expect(allowing.checkAddress("127.0.0.1")).toBeNull();
    expect(allowing.checkAddress("::ffff:127.0.0.1")).toBeNull();
    expect(allowing.checkAddress("127.0.0.2")).toBe("127.0.0.2 is a loopback address");
    expect(allowing.checkAddress("fd00::5")).toBeNull();
    expect(allowing.checkAddress("fc00::5")).toBe("fc00::5 is a private (unique local) address");
  });

  it("does not let an IPv6 allow entry open up IPv4", () => {
    expect(new SsrfGuard(["::/0"]).checkAddress("10.0.0.5")).toBe("10.0.0.5 is a private address");
  });

  it("rejects a malformed allow-list entry", () => {
    expect(() => new SsrfGuard(["10.0.0.0/33"])).toThrow(/not a CIDR range/);
  });
});

describe("checkUrl", () => {
  const guard = new SsrfGuard([], fixed({ "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"], "db.internal": ["10.0.0.5"], "mixed.example.com": ["93.184.215.14", "10.0.0.5"] }));

  it("allows a name that resolves only to public addresses", async () => {
    expect(await guard.checkUrl("https://hooks.example.com/x")).toBeNull();
  });

  it("names the host and the address it refuses", async () => {
    expect(await guard.checkUrl("http://db.internal:8080/hook")).toBe(
      "db.internal resolves to 10.0.0.5, a private address; allow it with delivery.allowedNetworks",
    );
  });

  it("refuses when any one of the addresses is forbidden", async () => {
    expect(await guard.checkUrl("https://mixed.example.com/")).toMatch(/^mixed\.example\.com resolves to 10\.0\.0\.5, a private address/);
  });

  it("says when the host does not resolve", async () => {
    expect(await guard.checkUrl("https://nowhere.example.com/")).toBe("nowhere.example.com does not resolve");
    const empty = new SsrfGuard([], async () => []);
    expect(await empty.checkUrl("https://nowhere.example.com/")).toBe("nowhere.example.com does not resolve");
  });

  it.each([
    ["http://127.0.0.1:9000/", "127.0.0.1 is a loopback address"],
    ["http://[::1]:9000/", "::1 is a loopback address"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is an IPv4-mapped address of 127.0.0.1, a loopback address"],
    ["http://0x7f.1/", "127.0.0.1 is a loopback address"],
    ["http://2130706433/", "127.0.0.1 is a loopback address"],
  ])("checks the IP literal in %s without resolving", async (url, reason) => {
    const noDns = new SsrfGuard([], async () => {
      throw new Error("must not resolve");
    });
    expect(await noDns.checkUrl(url)).toBe(`${reason}; allow it with delivery.allowedNetworks`);
  });

  it("refuses localhost with the system resolver", async () => {
    expect(await new SsrfGuard([]).checkUrl("http://localhost:8080/")).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
  });

  it("refuses URLs that are not http(s)", async () => {
    expect(await guard.checkUrl("ftp://hooks.example.com/")).toBe("ftp://hooks.example.com/ is not an http(s) URL");
  });
});

describe("assertSendable", () => {
  const guard = new SsrfGuard(["127.0.0.1/32"], async () => {
    throw new Error("must not resolve");
  });

  it.each(["http://127.0.0.2/", "http://[::1]:8080/", "http://[::ffff:7f00:2]/", "http://0x7f.2/"])("throws ERR_SSRF_BLOCKED for %s", (url) => {
    expect(() => guard.assertSendable(url)).toThrow(expect.objectContaining({ code: "ERR_SSRF_BLOCKED" }));
  });

  it("passes allowed literals and leaves host names to lookup (no DNS)", () => {
    expect(() => guard.assertSendable("http://127.0.0.1:8080/")).not.toThrow();
    expect(() => guard.assertSendable("https://db.internal/")).not.toThrow();
  });

  it("gives the same answer every time for a URL it has seen (answers are remembered per URL)", () => {
    for (let i = 0; i < 3; i++) {
      expect(() => guard.assertSendable("http://127.0.0.1:8080/x")).not.toThrow();
      expect(() => guard.assertSendable("http://127.0.0.3:8080/x")).toThrow(/127\.0\.0\.3 is a loopback address/);
      expect(() => guard.assertSendable("ftp://127.0.0.1/")).toThrow(/not an http\(s\) URL/);
    }
  });
});

describe("lookup", () => {
  const guard = new SsrfGuard([], fixed({ "hooks.example.com": ["93.184.215.14", "2606:4700::1111"], "mixed.example.com": ["93.184.215.14", "10.0.0.5"] }));
  const call = (host: string, options: { all?: boolean; family?: number }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
      guard.lookup(host, options, (err, address, family) => resolve({ err, address, family })),
    );

  it("answers all checked addresses when asked for all", async () => {
    expect(await call("hooks.example.com", { all: true })).toMatchObject({
      err: null,
      address: [{ address: "93.184.215.14", family: 4 }, { address: "2606:4700::1111", family: 6 }],
    });
  });

  it("answers one address of the wanted family otherwise", async () => {
    expect(await call("hooks.example.com", {})).toMatchObject({ err: null, address: "93.184.215.14", family: 4 });
    expect(await call("hooks.example.com", { family: 6 })).toMatchObject({ err: null, address: "2606:4700::1111", family: 6 });
  });

  it("fails with ERR_SSRF_BLOCKED when any address is forbidden", async () => {
    const { err } = await call("mixed.example.com", { all: true });
    expect(err).toMatchObject({ code: "ERR_SSRF_BLOCKED", message: expect.stringContaining("mixed.example.com resolves to 10.0.0.5, a private address") });
  });

  it("passes resolver failures on", async () => {
    expect((await call("nowhere.example.com", {})).err).toMatchObject({ code: "ENOTFOUND" });
  });
});

/** The code of the first error in the cause chain that has one we care about. */
function blockedCode(err: unknown): string | undefined {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === "ERR_SSRF_BLOCKED") return e.code;
  }
  return undefined;
}

describe("through a real undici Agent", () => {
  let server: Server;
  let port: number;
  let hits = 0;
  const agents: Agent[] = [];
  const agentFor = (guard: SsrfGuard) => {
    const agent = new Agent({ connect: { lookup: guard.lookup } });
    agents.push(agent);
    return agent;
  };
  const get = async (url: string, agent: Agent) => {
    const res = await request(url, { dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end("hello");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await new Promise((resolve) => server.close(resolve));
  });

  it("refuses http://localhost when loopback is not allowed", async () => {
    hits = 0;
    const agent = agentFor(new SsrfGuard([], fixed({ localhost: ["127.0.0.1"] })));
    const err = await get(`http://localhost:${port}/`, agent).catch((e: unknown) => e);
    expect(blockedCode(err)).toBe("ERR_SSRF_BLOCKED");
    expect(String(err)).toContain("localhost resolves to 127.0.0.1, a loopback address");
    expect(hits).toBe(0);
  });

  it("connects when 127.0.0.1/32 is allowed", async () => {
    const agent = agentFor(new SsrfGuard(["127.0.0.1/32"], fixed({ localhost: ["127.0.0.1"] })));
    expect(await get(`http://localhost:${port}/`, agent)).toEqual({ status: 200, body: "hello" });
  });

  it("refuses at connect time what the resolver now answers, whatever checkUrl saw (rebinding)", async () => {
    hits = 0;
    let calls = 0;
    // First answer public (never contacted: checkUrl only looks), then loopback.
    const rebinding: Resolver = async () => [{ address: calls++ === 0 ? "93.184.215.14" : "127.0.0.1", family: 4 }];
    const guard = new SsrfGuard([], rebinding);
    const url = `http://rebind.example.com:${port}/`;
    expect(await guard.checkUrl(url)).toBeNull();
    const err = await get(url, agentFor(guard)).catch((e: unknown) => e);
    expect(blockedCode(err)).toBe("ERR_SSRF_BLOCKED");
    expect(calls).toBe(2);
    expect(hits).toBe(0);
  });

  it("does not see IP literals, which is why assertSendable exists", async () => {
    const guard = new SsrfGuard([], async () => {
      throw new Error("lookup must not be called for an IP literal");
    });
    const url = `http://127.0.0.1:${port}/`;
    expect(() => guard.assertSendable(url)).toThrow(expect.objectContaining({ code: "ERR_SSRF_BLOCKED" }));
    expect((await get(url, agentFor(guard))).status).toBe(200);
  });
});
