// CPU time used by processes during a phase, from /proc (Linux): how much CPU each delivery costs
// the bridge (all its threads), the receiver and the load generator.
import { readFile, readdir } from "node:fs/promises";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) a process has used so far; NaN when unreadable. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Fields after the command name (which may contain spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / TICKS_PER_SECOND;
}

/**
 * CPU seconds of a process and every live descendant, plus its children that ended (a server
 * that forks a process per connection: PostgreSQL's postmaster and its backends).
 */
export async function treeCpuSeconds(rootPid: number): Promise<number> {
  const stats = new Map<number, { ppid: number; cpu: number; ended: number }>();
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    stats.set(Number(name), { ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]), ended: Number(fields[13]) + Number(fields[14]) });
  }
  let ticks = (stats.get(rootPid)?.ended ?? 0);
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = stats.get(p)?.ppid ?? 0, hops++) if (p === rootPid) return true;
    return false;
  };
  for (const [pid, s] of stats) if (inTree(pid)) ticks += s.cpu;
  return ticks / TICKS_PER_SECOND;
}

/** This process's CPU seconds (the load generator, or the raw client). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Starts counting for the named processes (pid), plus this one as "self". */
export async function cpuMark(pids: Record<string, number>, trees: Record<string, number> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = { self: ownCpuSeconds() };
  for (const [name, pid] of Object.entries(pids)) out[name] = await processCpuSeconds(pid);
  for (const [name, pid] of Object.entries(trees)) out[name] = await treeCpuSeconds(pid);
  return out;
}

/** CPU µs per unit of work for each process between two marks. */
export function cpuPerUnit(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(before)) out[name] = (((after[name] ?? NaN) - (before[name] ?? NaN)) * 1e6) / units;
  return out;
}
