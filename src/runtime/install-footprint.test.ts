// What `npm install` may fetch and run: the crypto for encrypted rooms must come from the npm
// registry alone (the native binding's install downloads from GitHub, which is why it is replaced).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface LockEntry { resolved?: string; link?: boolean; hasInstallScript?: boolean }
const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as { packages: Record<string, LockEntry> };
const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { overrides: Record<string, string>; dependencies: Record<string, string> };

describe("the install", () => {
  it("takes every package from the configured npm registry, or from this repository", () => {
    const elsewhere = Object.entries(lock.packages)
      .filter(([, e]) => e.resolved !== undefined && /^[a-z]+:\/\//.test(e.resolved) && !e.resolved.startsWith("https://registry.npmjs.org/"))
      .map(([name, e]) => `${name} from ${e.resolved}`);
    expect(elsewhere).toEqual([]);
  });

  it("has the native crypto binding replaced by the WebAssembly one in this repository", () => {
    expect(manifest.dependencies["@matrix-org/matrix-sdk-crypto-nodejs"]).toBe("file:./packages/crypto-wasm-node");
    expect(manifest.overrides["@matrix-org/matrix-sdk-crypto-nodejs"]).toBe("$@matrix-org/matrix-sdk-crypto-nodejs");
    expect(lock.packages["node_modules/@matrix-org/matrix-sdk-crypto-nodejs"]).toMatchObject({ resolved: "packages/crypto-wasm-node", link: true });
    expect(Object.keys(lock.packages).filter((name) => name.endsWith("/@matrix-org/matrix-sdk-crypto-nodejs") && name !== "node_modules/@matrix-org/matrix-sdk-crypto-nodejs")).toEqual([]);
  });

  it("runs no install script beyond SQLite's, esbuild's and is-hidden-file's (the crypto adds none)", () => {
    const withScripts = Object.entries(lock.packages).filter(([, e]) => e.hasInstallScript).map(([name]) => name.replace(/^.*node_modules\//, "")).sort();
    expect(withScripts).toEqual(["better-sqlite3", "esbuild", "is-hidden-file"]);
  });
});
