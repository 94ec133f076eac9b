import { readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc/stat counts in 1/100 s on every architecture Node runs on. */
const ticksPerSecond = 100;

/**
 * CPU time the whole machine has spent busy (every process, the kernel, and
 * time the hypervisor stole), in ms, from Linux's /proc/stat; undefined
 * elsewhere. Set against what the bench's own processes used, it shows how much
 * other work shared the cores during a measurement (10 ms resolution).
 */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
    return Number.isFinite(busy) ? (busy * 1000) / ticksPerSecond : undefined;
  } catch {
    return undefined;
  }
}
