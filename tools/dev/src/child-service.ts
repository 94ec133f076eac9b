import { spawn } from "node:child_process";
import * as readline from "node:readline";

/** How a child process ended. */
export interface ChildExit {
  /** Exit status, or null when a signal ended it or it never started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  readonly error?: Error;
}

/** Options of `startChildService`. */
export interface ChildServiceOptions {
  /** Name in messages, e.g. "cache-store". */
  readonly name: string;
  /** Executable, e.g. process.execPath. */
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Called with each line the child writes, without its newline. */
  readonly onLine: (stream: "stdout" | "stderr", line: string) => void;
}

/** A service running as a child process. */
export interface ChildService {
  readonly name: string;
  readonly pid: number | undefined;
  /** Settles once the process has exited and its output has been read to the end. */
  readonly exited: Promise<ChildExit>;
  /** Whether `stop()` was called: an exit after that is expected. */
  readonly stopping: boolean;
  /** Whether the process has exited. */
  readonly done: boolean;
  /**
   * SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves
   * with how it ended and whether it had to be killed.
   */
  stop(graceMs: number): Promise<ChildExit & { readonly forced: boolean }>;
  /** SIGKILL now, synchronously (for process exit hooks). */
  kill(): void;
}

/** The one-line description of an exit, e.g. "exited with code 1". */
export function describeExit(exit: ChildExit): string {
  if (exit.error !== undefined) return `could not be started (${exit.error.message})`;
  if (exit.signal !== null) return `was ended by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/**
 * Spawns a service with its output read line by line. The child gets a
 * process group of its own, so a Ctrl-C at the terminal reaches only the
 * orchestrator, which then stops the services one by one in its own order
 * (a service that saw the terminal's SIGINT and then our SIGTERM would take
 * the second signal as "exit now").
 */
export function startChildService(options: ChildServiceOptions): ChildService {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stopping = false;
  let done = false;
  for (const stream of ["stdout", "stderr"] as const) {
    readline
      .createInterface({ input: child[stream], crlfDelay: Infinity })
      .on("line", (line) => options.onLine(stream, line));
  }
  const exited = new Promise<ChildExit>((resolve) => {
    child.once("error", (error) => {
      // Spawn failures (ENOENT, EACCES) come here and no "close" may follow.
      if (child.pid === undefined) {
        done = true;
        resolve({ code: null, signal: null, error });
      }
    });
    // "close" (not "exit") fires after stdout and stderr have ended, so every line is out.
    child.once("close", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const signalChild = (signal: NodeJS.Signals): void => {
    if (done) return;
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  return {
    name: options.name,
    pid: child.pid,
    exited,
    get stopping() {
      return stopping;
    },
    get done() {
      return done;
    },
    async stop(graceMs) {
      stopping = true;
      signalChild("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const forced = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (forced) signalChild("SIGKILL");
      return { ...(await exited), forced };
    },
    kill() {
      stopping = true;
      signalChild("SIGKILL");
    },
  };
}
