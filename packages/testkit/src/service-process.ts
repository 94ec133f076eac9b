import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

/** The repository root, from this file's place in packages/testkit/{src,dist}. */
export const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

/** A breakwater app running as a real process. */
export interface ServiceProcess {
  readonly app: string;
  readonly pid: number;
  /** gRPC port (cache-store, coordinator); undefined for the gateway. */
  readonly grpcPort: number | undefined;
  /** HTTP port (the gateway's API port, or a service's HTTP/1.1 port). */
  readonly httpPort: number;
  /** "127.0.0.1:<grpcPort>". */
  readonly grpcAddress: string;
  /** "http://127.0.0.1:<httpPort>". */
  readonly httpUrl: string;
  /** Every line the process wrote, stdout and stderr. */
  readonly output: string[];
  readonly child: ChildProcess;
  /** Sends a signal and waits for the exit; answers the exit code (or the signal's name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Options of `startServiceProcess`. */
export interface StartServiceOptions {
  /** Extra environment; ports default to 0 (free ones). */
  readonly env?: Record<string, string>;
  /** How long to wait for the "listening" log line. */
  readonly timeoutMs?: number;
}

const portVars: Record<string, string[]> = {
  "cache-store": ["CACHE_STORE_PORT", "CACHE_STORE_HTTP_PORT"],
  "breaker-coordinator": ["COORDINATOR_PORT", "COORDINATOR_HTTP_PORT"],
  gateway: ["GATEWAY_PORT"],
};

/**
 * Starts `node apps/<app>/dist/main.js` (build first) on free ports and waits
 * until it logs that it listens; the ports are read from that log line.
 */
export function startServiceProcess(app: string, options: StartServiceOptions = {}): Promise<ServiceProcess> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: "info" };
  for (const v of portVars[app] ?? []) env[v] = "0";
  Object.assign(env, { COORDINATOR_URL: "http://127.0.0.1:1" }, options.env);
  const child = spawn(process.execPath, [resolve(repoRoot, "apps", app, "dist/main.js")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((done) =>
    child.once("exit", (code, signal) => done(code ?? signal ?? "unknown")),
  );
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rejectStart(new Error(`${app} did not start within ${options.timeoutMs ?? 15_000} ms:\n${output.join("\n")}`));
    }, options.timeoutMs ?? 15_000);
    const onLine = (line: string): void => {
      output.push(line);
      if (!line.includes("listening")) return;
      let parsed: { grpcPort?: number; httpPort?: number; port?: number };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        return;
      }
      const httpPort = parsed.httpPort ?? parsed.port;
      if (httpPort === undefined) return;
      clearTimeout(timer);
      resolveStart({
        app,
        pid: child.pid!,
        grpcPort: parsed.grpcPort,
        httpPort,
        grpcAddress: `127.0.0.1:${parsed.grpcPort}`,
        httpUrl: `http://127.0.0.1:${httpPort}`,
        output,
        child,
        async stop(signal = "SIGTERM") {
          if (child.exitCode !== null || child.signalCode !== null) return exited;
          child.kill(signal);
          return exited;
        },
      });
    };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      rejectStart(new Error(`${app} exited with ${code} before listening:\n${output.join("\n")}`));
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
}

/** Runs an app to its exit with the given environment (for config-error tests). */
export function runServiceToExit(
  app: string,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [resolve(repoRoot, "apps", app, "dist/main.js")], {
    env: { ...(process.env as Record<string, string>), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${app} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}
