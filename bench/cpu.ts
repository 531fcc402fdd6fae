// CPU time used by processes during a phase, from /proc (Linux): how much CPU each delivery costs
// the bridge (all its threads), the receiver and the load generator.
import { readFile } from "node:fs/promises";

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

/** This process's CPU seconds (the load generator, or the raw client). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Starts counting for the named processes (pid), plus this one as "self". */
export async function cpuMark(pids: Record<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = { self: ownCpuSeconds() };
  for (const [name, pid] of Object.entries(pids)) out[name] = await processCpuSeconds(pid);
  return out;
}

/** CPU µs per unit of work for each process between two marks. */
export function cpuPerUnit(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(before)) out[name] = (((after[name] ?? NaN) - (before[name] ?? NaN)) * 1e6) / units;
  return out;
}
