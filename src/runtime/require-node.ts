// Imported first by every entry point (main, vitest config, benchmarks): on a Node too old for
// the bridge it prints one line saying what is needed and exits, before any dependency loads
// (undici, for one, fails with a stack trace on Node 20).
import { NEEDED_FOR_BUILD, NEEDED_FOR_SOURCES, nodeVersionProblem } from "./node-version.js";

const fromSources = import.meta.url.endsWith(".ts");
const problem = nodeVersionProblem(process.version, fromSources ? NEEDED_FOR_SOURCES : NEEDED_FOR_BUILD, fromSources);
if (problem) {
  console.error(problem);
  process.exit(1);
}
