import { readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc counts CPU time in 1/100 s on every architecture Node runs on. */
const ticksPerSecond = 100;

/**
 * CPU time (user + system) that the process `pid` has spent so far, in µs,
 * from Linux's /proc/<pid>/stat (10 ms resolution); undefined elsewhere or
 * once the process is gone. For servers the bench did not start through
 * `startChildServer` (e.g. an app started by testkit), which cannot answer
 * the IPC CPU query.
 */
export function processCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: count from after its last ")".
    // What follows starts at field 3 (state); utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1e6) / ticksPerSecond : undefined;
  } catch {
    return undefined;
  }
}
