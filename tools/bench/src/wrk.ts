import { spawn, type ChildProcess } from "node:child_process";
import { parseShellTimes, parseWrkOutput, type WrkResult } from "./wrk-output.js";

/** Options of `runWrk`. */
export interface WrkOptions {
  /** The wrk program (`findOrInstallCommand`'s path). */
  readonly wrk: string;
  readonly url: string;
  /** Connections kept open, each with one request in flight (`-c`). */
  readonly connections: number;
  /** Event-loop threads of wrk (`-t`). */
  readonly threads: number;
  /** Run time, whole seconds: wrk takes no fractions (`-d`). */
  readonly seconds: number;
}

/** One wrk run: its summary and the CPU wrk spent on it. */
export interface WrkRun extends WrkResult {
  /** User + system CPU of wrk, s (bash's `times`); undefined when unknown. */
  readonly cpuSeconds: number | undefined;
}

/** Runs not yet known to have ended, for the last-resort kill on exit. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess): void {
  try {
    // The run's own process group (bash and wrk): its id is the pid we started.
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Runs wrk once with `--latency` and reads its summary. wrk runs under
 * bash, which prints what its child spent with `times` afterwards: the load
 * generator shares the cores with the servers, so its CPU is part of the
 * picture. The run is its own process group, killed by that id when it
 * overruns its time by 15 s or when the bench exits first. Rejects when wrk
 * fails or prints no summary.
 */
export function runWrk(options: WrkOptions): Promise<WrkRun> {
  if (!Number.isInteger(options.seconds) || options.seconds < 1)
    throw new RangeError(`wrk runs whole seconds ≥ 1, got ${options.seconds}`);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => live.forEach(killGroup));
  }
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, "--latency", options.url];
  const script = '"$@"; status=$?; times; exit $status';
  const child = spawn("bash", ["-c", script, "wrk-run", options.wrk, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  live.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => killGroup(child), (options.seconds + 15) * 1000);
    child.once("error", (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`wrk could not be started: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (code !== 0) {
        reject(
          new Error(`wrk ${args.join(" ")} ended with ${signal ?? `code ${code}`}:\n${(stderr || stdout).trim()}`),
        );
        return;
      }
      try {
        resolve({ ...parseWrkOutput(stdout), cpuSeconds: parseShellTimes(stdout) });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
