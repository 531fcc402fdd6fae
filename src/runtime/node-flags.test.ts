import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { missingNodeFlags, SHIPPED_NODE_FLAGS } from "./node-flags.js";

const repoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("the shipped Node flags", () => {
  it("names the flags not given on the command line or in NODE_OPTIONS", () => {
    expect(missingNodeFlags([], undefined)).toEqual([...SHIPPED_NODE_FLAGS]);
    expect(missingNodeFlags([...SHIPPED_NODE_FLAGS], undefined)).toEqual([]);
    expect(missingNodeFlags([], SHIPPED_NODE_FLAGS.join(" "))).toEqual([]);
    // Another value, or V8's underscore spelling, is the operator's choice: not missing.
    expect(missingNodeFlags(["--max_old_space_size=2048"], "  --max-semi-space-size=16 ")).toEqual([]);
    expect(missingNodeFlags(["--max-old-space-size=2048"], "--enable-source-maps")).toEqual(SHIPPED_NODE_FLAGS.filter((f) => !f.startsWith("--max-old")));
  });

  it("are in every start command the package and the docs give", () => {
    const pkg = JSON.parse(repoFile("package.json")) as { scripts: Record<string, string> };
    const starts = [
      ["package.json start", pkg.scripts.start ?? ""],
      // The package's bin (dist/main.js, compiled with this first line) runs through it.
      ["src/main.ts shebang", repoFile("src/main.ts").split("\n")[0]!],
      ...[...repoFile("Dockerfile").matchAll(/^ENTRYPOINT .*$/gm)].map((m) => ["Dockerfile", m[0]]),
      ...["README.md", "docs/postgres.md"].flatMap((doc) =>
        [...repoFile(doc).matchAll(/^ExecStart=.*$|Start: `node [^`]*`/gm)].map((m) => [doc, m[0]])),
    ];
    expect(starts.length).toBeGreaterThanOrEqual(6);
    for (const [where, line] of starts) {
      const args = line!.split(/[\s",[\]`]+/);
      expect(missingNodeFlags(args, undefined), `${where}: ${line}`).toEqual([]);
    }
  });
});
