// Transformation function benchmark (npx tsx bench/transform.ts [--runs=2000]). Runs Hookshot's
// documented v2 example on a small payload and on a ~100 KiB one, two ways: a fresh QuickJS
// runtime per run (what the bridge does: nothing survives between runs, limits are per run) and
// one runtime and context kept for every run (a pool of one, evaluating the same source again);
// and the fresh-runtime run as the bridge makes it, on the functions' own thread (ThreadedSandbox:
// one run after the other, each waited for, so the thread hop is in the figure).
// Prints the time per run. Figures only.
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { parseArgs } from "node:util";
import { newQuickJSWASMModule, shouldInterruptAfterDeadline } from "quickjs-emscripten";
import { JsSandbox } from "../src/transform/sandbox.js";
import { ThreadedSandbox } from "../src/transform/threaded-sandbox.js";
import { fmt, table } from "./stats.js";

const { values } = parseArgs({ options: { runs: { type: "string" } }, strict: true });
const runs = Number(values.runs ?? 2000);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);

const SOURCE = `if (data.counter === undefined) { result = {empty: true, version: "v2"}; }
else if (data.counter > data.maxValue) { result = {plain: \`**Oh no!** over by \${data.counter - data.maxValue}\`, version: "v2"}; }
else { result = {plain: \`*Everything is fine*, under by \${data.maxValue - data.counter}\`, version: "v2"}; }`;
const small = { counter: 5, maxValue: 4 };
const large = { counter: 5, maxValue: 4, items: Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b", "c"], note: "x".repeat(40) })) };

const limits = { timeoutMs: 200, memoryBytes: 16 * 1024 * 1024 };
const sandbox = await JsSandbox.load(limits);
const quickjs = await newQuickJSWASMModule();

function perRun(fn: () => void): number {
  for (let i = 0; i < Math.min(100, runs); i++) fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  return Number(process.hrtime.bigint() - started) / 1e6 / runs;
}

function pooled(data: unknown): () => void {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  const ctx = runtime.newContext();
  const input = JSON.stringify(data);
  return () => {
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + limits.timeoutMs));
    const payload = ctx.newString(input);
    ctx.setProp(ctx.global, "__hookData", payload);
    payload.dispose();
    const ran = ctx.evalCode(`(() => { const data = JSON.parse(globalThis.__hookData); let result; ${SOURCE}; return JSON.stringify(result); })()`);
    if (ran.error) throw new Error(JSON.stringify(ctx.dump(ran.error)));
    JSON.parse(ctx.getString(ran.value));
    ran.value.dispose();
  };
}

const threaded = new ThreadedSandbox(limits);
async function perThreadedRun(data: unknown): Promise<number> {
  for (let i = 0; i < Math.min(100, runs); i++) await threaded.run(SOURCE, data);
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await threaded.run(SOURCE, data);
  return Number(process.hrtime.bigint() - started) / 1e6 / runs;
}

const rows = [
  ["small payload", fmt(perRun(() => sandbox.run(SOURCE, small)), 3), fmt(await perThreadedRun(small), 3), fmt(perRun(pooled(small)), 3)],
  ["~100 KiB payload", fmt(perRun(() => sandbox.run(SOURCE, large)), 3), fmt(await perThreadedRun(large), 3), fmt(perRun(pooled(large)), 3)],
];
await threaded.stop();
console.log(`${runs} runs each, ms per run`);
console.log(table([["payload", "fresh runtime, in process", "fresh runtime on its thread (bridge)", "one kept runtime"], ...rows]));
