// The pre-send module's Python unit tests (config, verdicts, eligibility), run with Synapse's own Python.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { ensureSynapseInstalled } from "../src/demo/synapse.js";

const run = promisify(execFile);
const moduleDir = fileURLToPath(new URL("../synapse-module", import.meta.url));

it("the module's Python unit tests pass under Synapse's interpreter", async () => {
  const python = await ensureSynapseInstalled();
  const { stderr } = await run(python, ["-m", "unittest", "discover", "-s", "tests", "-t", "."], {
    cwd: moduleDir,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    timeout: 60_000,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`python unit tests failed:\n${err.stderr ?? err.message}`);
  });
  // unittest reports on stderr: "Ran N tests" and "OK".
  const ran = Number(/Ran (\d+) tests?/.exec(stderr)?.[1] ?? 0);
  expect(ran).toBeGreaterThanOrEqual(18);
  expect(stderr).toMatch(/\nOK\s*$/);
});
