// Summarises a V8 .cpuprofile (e.g. from BENCH_CPU_PROF=<dir> npm run bench): where the busy time
// went, by self time, by inclusive time of the bridge's own functions, and by package/area.
// Usage: tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top=25] [filter=src/]
import "../src/runtime/require-node.js"; // first: one clear line on a Node too old
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, filterArg] = process.argv.slice(2);
if (!file) throw new Error("usage: tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top] [filter]");
const top = Number(topArg ?? 25);
const filter = filterArg ?? "/src/";
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const short = (url: string) => url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "npm:").replace(/^.*\/(src|bench|spec)\//, "$1/");
const key = (n: Node) => `${n.callFrame.functionName || "(anonymous)"} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
function area(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native) " + functionName;
  if (url.includes("/node_modules/")) return "npm:" + url.split("/node_modules/")[1]!.split("/")[0]!;
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  return short(url).split("/").slice(0, 2).join("/");
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const areas = new Map<string, number>();
let total = 0;
let idle = 0;
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // the delta after a sample is the time it stands for
  const leaf = byId.get(profile.samples[i]!)!;
  if (leaf.callFrame.functionName === "(idle)") {
    idle += dt;
    continue;
  }
  total += dt;
  add(self, key(leaf), dt);
  add(areas, area(leaf), dt);
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const node = byId.get(id)!;
    const k = key(node);
    if (!seen.has(k)) add(inclusive, k, dt), seen.add(k);
  }
}

// Busy share per second of the profile, to tell a saturated stretch from a waiting one.
const perSecond: number[] = [];
for (let i = 0, t = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  t += (profile.timeDeltas[i] ?? 0) / 1000;
  const leaf = byId.get(profile.samples[i]!)!;
  if (leaf.callFrame.functionName !== "(idle)") perSecond[Math.floor(t / 1000)] = (perSecond[Math.floor(t / 1000)] ?? 0) + dt;
}
console.log(`busy % per second: ${Array.from(perSecond, (ms) => Math.round((ms ?? 0) / 10)).join(" ")}`);

// Pauses: runs of consecutive garbage-collector samples (a stand-in for GC pauses).
const gcRuns: number[] = [];
let run = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (byId.get(profile.samples[i]!)!.callFrame.functionName === "(garbage collector)") run += (profile.timeDeltas[i + 1] ?? 0) / 1000;
  else if (run > 0) gcRuns.push(run), (run = 0);
}
gcRuns.sort((a, b) => b - a);
console.log(`GC stretches: ${gcRuns.length}, longest ${gcRuns.slice(0, 5).map((ms) => ms.toFixed(1)).join(", ")} ms; over 5 ms: ${gcRuns.filter((ms) => ms > 5).length}`);

const pct = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)}%`;
const list = (title: string, m: Map<string, number>, n: number, only?: (k: string) => boolean) => {
  console.log(`\n${title}`);
  for (const [k, ms] of [...m].filter(([k]) => !only || only(k)).sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${ms.toFixed(0).padStart(8)} ms ${pct(ms)}  ${k}`);
  }
};
console.log(`${file}: busy ${total.toFixed(0)} ms, idle ${idle.toFixed(0)} ms`);
list("By area (self time):", areas, top);
list("By function, self time:", self, top);
list(`Inclusive time of functions in ${filter}:`, inclusive, top, (k) => k.includes(filter.replace(/^\//, "")));
