import { spawn, type ChildProcess } from "node:child_process";

/**
 * The protocol between the bench and a server it runs in a child process, over
 * Node's IPC channel: the child sends `{ ready: port }` once it listens and
 * answers the message `"cpu"` with `{ cpuMicros }` (its own process.cpuUsage,
 * user + system), so the bench can tell what each server spends per call.
 */
type ChildMessage = { readonly ready: number } | { readonly cpuMicros: number };

/** Options of `startChildServer`. */
export interface ChildServerOptions {
  /** Name in messages, e.g. "kit". */
  readonly name: string;
  /** The compiled script to run with this Node, e.g. dist/echo-server.js. */
  readonly script: string;
  readonly args: readonly string[];
  /** Node flags before the script, e.g. `--cpu-prof` (BenchSettings.serverNodeArgs). */
  readonly nodeArgs?: readonly string[];
  /** How long the child may take to announce its port (default 15 s). */
  readonly startTimeoutMs?: number;
}

/** A server running in a child process. */
export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  /** Loopback port it listens on. */
  readonly port: number;
  /** CPU time the child has spent so far, in microseconds (user + system). */
  cpuMicros(): Promise<number>;
  /** SIGTERM by pid, SIGKILL after 2 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The children not yet known to have exited, for the last-resort kill on exit. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killLeftovers(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts a server script in a child process and waits until it announces its
 * port. The child is killed by pid when `stop()` is called, when it fails to
 * start, and (SIGKILL) when this process exits with it still alive; the child
 * side (`announceReady`) also exits when the IPC channel closes, so a bench
 * that dies hard leaves no server behind.
 */
export function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", killLeftovers);
  }
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script, ...options.args], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  live.add(child);
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(
      ...chunk
        .toString("utf8")
        .split("\n")
        .filter((l) => l.length > 0),
    );
    if (output.length > 20) output.splice(0, output.length - 20);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    const done = (): void => {
      live.delete(child);
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once("exit", done);
  });
  child.once("error", () => live.delete(child)); // spawn failed: no "exit" follows

  let stopping: Promise<void> | undefined;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, sig);
    } catch {
      // It exited and "exit" is still on its way.
    }
  };
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.pid === undefined || !live.has(child)) return;
      signal("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 2000))),
      ]);
      clearTimeout(timer);
      if (killed && live.has(child)) {
        signal("SIGKILL");
        await exited;
      }
    })());

  // CPU queries awaiting their answer, oldest first; a child that exits fails them.
  const cpuWaiters: { resolve: (micros: number) => void; reject: (err: Error) => void }[] = [];
  void exited.then(() => {
    for (const w of cpuWaiters.splice(0)) w.reject(new Error(`${options.name} server exited`));
  });
  return new Promise<ChildServer>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop();
      const tail = output.length > 0 ? `\n  ${output.join("\n  ")}` : "";
      reject(new Error(`${options.name} server ${why}${tail}`));
    };
    const timer = setTimeout(() => fail(`announced no port within ${timeoutMs} ms`), timeoutMs);
    child.once("error", (err) => fail(`could not be started (${err.message})`));
    const earlyExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited before it listened (${signal ?? `code ${code}`})`);
    child.once("close", earlyExit); // "close", not "exit": its last output has been read by then
    child.on("message", (m: ChildMessage) => {
      if ("cpuMicros" in m) cpuWaiters.shift()?.resolve(m.cpuMicros);
      else if ("ready" in m && !settled) {
        settled = true;
        clearTimeout(timer);
        child.off("close", earlyExit);
        resolve({
          name: options.name,
          pid: child.pid!,
          port: m.ready,
          cpuMicros: () =>
            new Promise<number>((res, rej) => {
              if (!child.connected) return rej(new Error(`${options.name} server is gone`));
              cpuWaiters.push({ resolve: res, reject: rej });
              child.send("cpu");
            }),
          stop,
        });
      }
    });
  });
}

/**
 * The child side of the protocol: announce the port (on stdout too, for a
 * human running the script by hand), answer CPU queries, and exit when the
 * parent goes away.
 */
export function announceReady(port: number): void {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  // Exit through process.exit on SIGTERM, so that `--cpu-prof` writes its profile.
  process.once("SIGTERM", () => process.exit(0));
  if (process.send === undefined) return; // run by hand: no IPC channel
  process.on("message", (m: unknown) => {
    if (m !== "cpu") return;
    const u = process.cpuUsage();
    process.send?.({ cpuMicros: u.user + u.system } satisfies ChildMessage);
  });
  process.once("disconnect", () => process.exit(0));
  process.send({ ready: port } satisfies ChildMessage);
}
