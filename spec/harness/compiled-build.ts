// The build that ships, in a scratch directory: `tsc` output next to the package.json (module
// type, version) and a link to the installed packages. Returns the path of its main.js.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function buildInto(dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.json"), "--outDir", join(dir, "dist")], { stdio: "pipe" });
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return join(dir, "dist", "main.js");
}
