/** What tests read about a child process's memory and descriptors (Linux /proc). */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Mebibytes, for readable assertions and logs. */
export const MiB = 1024 * 1024;

/** Resident memory of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Samples `read` every `everyMs` until `stop()`; answers the largest value seen. */
export function samplePeak(read: () => number, everyMs = 20): { stop(): number } {
  let peak = read();
  const timer = setInterval(() => (peak = Math.max(peak, read())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, read());
      return peak;
    },
  };
}

/** Environment that preloads heap-probe.mjs into a started app, for `heapAfterGc`. */
export const heapProbeEnv: Record<string, string> = {
  NODE_OPTIONS: `--expose-gc --import ${fileURLToPath(new URL("./heap-probe.mjs", import.meta.url))}`,
};

/** A process's memory right after a full garbage collection (it must run with `heapProbeEnv`). */
export async function heapAfterGc(pid: number): Promise<NodeJS.MemoryUsage> {
  const file = join(tmpdir(), `breakwater-heap-${pid}.json`);
  rmSync(file, { force: true });
  process.kill(pid, "SIGUSR2");
  for (let waited = 0; !existsSync(file); waited += 10) {
    if (waited > 5_000) throw new Error(`process ${pid} wrote no heap figures (started without heapProbeEnv?)`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const usage = JSON.parse(readFileSync(file, "utf8")) as NodeJS.MemoryUsage;
  rmSync(file, { force: true });
  return usage;
}
