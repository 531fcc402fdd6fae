// Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") as the very last
// line, after vitest's own summary (hence at process exit, written synchronously).
import { writeSync } from "node:fs";
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      // A file that failed to load has no tests but must still count as a failure.
      if (mod.state() === "failed" && [...mod.children.allTests()].length === 0) failed++;
    }
    process.once("exit", () => writeSync(1, `\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`));
  }
}
