// The command line as an admin uses it: generate a registration, check a config, clear errors.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as yaml from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import { loadRegistration } from "../src/matrix/registration.js";

const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe("matrix-webhook-bridge CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "mwb-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("generates a registration with fresh tokens, readable by the bridge, and refuses to overwrite it", async () => {
    const path = join(dir, "registration.yml");
    const first = await run("--generate-registration", "-r", path, "--url", "http://bridge.internal:9993");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Wrote ${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const reg = await loadRegistration(path);
    expect(reg).toMatchObject({ url: "http://bridge.internal:9993", senderLocalpart: "webhooks", userNamespaceRegexes: ["@webhook_.*:.*"] });
    expect(reg.hsToken).toMatch(/^\S{32,}$/);
    expect(reg.hsToken).not.toBe(reg.asToken);
    const again = await run("--generate-registration", "-r", path, "--url", "http://x:1");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect((await run("--generate-registration", "-r", path, "--url", "http://x:1", "--force")).code).toBe(0);
    expect((await loadRegistration(path)).hsToken).not.toBe(reg.hsToken);
  });

  it("generates a registration for encryption with --encryption, and refuses to start encrypted without one", async () => {
    const path = join(dir, "registration-e2ee.yml");
    expect((await run("--generate-registration", "-r", path, "--url", "http://x:1", "--encryption")).code).toBe(0);
    const raw = yaml.load(readFileSync(path, "utf8")) as Record<string, unknown>;
    expect(raw).toMatchObject({ receive_ephemeral: true, "de.sorunome.msc2409.push_ephemeral": true, "org.matrix.msc3202": true, "io.element.msc4190": true });
    const plain = join(dir, "registration-plain.yml");
    expect((await run("--generate-registration", "-r", plain, "--url", "http://x:1")).code).toBe(0);
    expect(Object.keys(yaml.load(readFileSync(plain, "utf8")) as object)).not.toContain("org.matrix.msc3202");
    const config = join(dir, "config-e2ee.yml");
    writeFileSync(config, yaml.dump({ homeserver: { url: "http://127.0.0.1:9", domain: "hs.test" }, store: { path: join(dir, "e2ee.db"), encryptionKey: "Q0hBTkdFLU1FLWdlbmVyYXRlLWEtbmV3LWtleS0hISE=" }, encryption: { enabled: true, storagePath: join(dir, "crypto") } }));
    const refused = await run("-c", config, "-r", plain);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/encryption\.enabled needs the registration file to have receive_ephemeral: true, org\.matrix\.msc3202: true, io\.element\.msc4190: true \(generate it with --encryption/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it("checks the sample config, and reports every problem of a bad one with its key path", async () => {
    const ok = await run("-c", "config.sample.yml", "--check-config");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("config.sample.yml is valid.");
    expect(ok.stderr).toMatch(/placeholder/);
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, yaml.dump({ homeserver: { url: "ftp://x" }, delivery: { retries: -1, retrys: 3 }, store: { encryptionKey: "short" } }));
    const result = await run("-c", bad, "--check-config");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/homeserver\.url: must be an http\(s\) URL/);
    expect(result.stderr).toMatch(/homeserver\.domain: is required/);
    expect(result.stderr).toMatch(/delivery\.retries: must be an integer between 0 and 100 \(got -1\)/);
    expect(result.stderr).toMatch(/delivery\.retrys: unknown key \(did you mean "retries"\?\)/);
    expect(result.stderr).toMatch(/store\.encryptionKey/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("explains a missing registration file and unknown flags without a stack trace", async () => {
    const config = join(dir, "config.yml");
    writeFileSync(config, readFileSync("config.sample.yml", "utf8"));
    const missing = await run("-c", config, "-r", join(dir, "nope.yml"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/registration file .*nope\.yml does not exist \(generate it with --generate-registration\)/);
    const unknown = await run("--frobnicate");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown option '--frobnicate'/);
    expect(`${missing.stderr}${unknown.stderr}`).not.toMatch(/\n\s+at /);
  });
});

// A Node older than 22 on this machine (these machines ship Node 20 beside the project's Node 24).
const oldNode = ["/usr/bin/node", "/usr/local/bin/node", "/bin/node"].find((path) => {
  if (!existsSync(path)) return false;
  const version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
  return Number(/^v(\d+)/.exec(version)?.[1] ?? 99) < 22;
});

// These machines ship one; elsewhere say plainly that this part did not run.
if (!oldNode) console.warn("[cli] no Node older than 22 at /usr/bin, /usr/local/bin or /bin: the old-Node checks are skipped");

describe.runIf(oldNode)(`on a Node too old (${oldNode ?? "none found"})`, () => {
  const runOld = async (...args: string[]) => {
    try {
      await promisify(execFile)(oldNode!, args, { timeout: 60_000 });
      return { code: 0, stderr: "" };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  };

  it.each([
    ["the bridge and the demo (src/main.ts)", ["node_modules/tsx/dist/cli.mjs", "src/main.ts", "--demo"]],
    ["the tests (vitest's config)", ["node_modules/vitest/vitest.mjs", "run", "--project", "unit", "src/runtime"]],
    ["the benchmark", ["node_modules/tsx/dist/cli.mjs", "bench/outbound-throughput.ts"]],
  ])("%s: one line saying what is needed, no stack trace", async (_what, args) => {
    const result = await runOld(...args);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^matrix-webhook-bridge needs Node\.js >= 22\.18 \(24 LTS recommended\); this is Node v\d+\.\d+\.\d+: .*npx -y -p node@24 -- npm run demo.*\.$/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});
