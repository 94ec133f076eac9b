/**
 * A real Prometheus (Debian's `prometheus`) for a test: its own port, its own
 * temporary storage, stopped by its pid and its folder removed.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { eventually, freePort } from "@breakwater/testkit";

/** A running Prometheus. */
export interface PrometheusServer {
  readonly pid: number;
  /** "http://127.0.0.1:<port>". */
  readonly url: string;
  /** Every line it logged. */
  readonly output: string[];
  /** GET `<url><path>` and the `data` of Prometheus's JSON answer; throws on an error status. */
  api<T>(pathAndQuery: string): Promise<T>;
  /** SIGTERM, wait for the exit, remove its folder. */
  stop(): Promise<void>;
}

/** Why the Prometheus tests cannot run here, or undefined when `prometheus` and `promtool` are installed. */
export function prometheusMissing(): string | undefined {
  for (const tool of ["prometheus", "promtool"]) {
    const r = spawnSync(tool, ["--version"], { stdio: "ignore" });
    if (r.error !== undefined || r.status !== 0) {
      return `${tool} is not installed (Debian: apt-get install prometheus; .ci/run installs it when missing)`;
    }
  }
  return undefined;
}

/** Runs `promtool <args>`: its exit status and its output. */
export function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Starts `prometheus` with the given configuration text and waits until it is ready. */
export async function startPrometheus(configText: string): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(tmpdir(), "bw-prometheus-"));
  const configFile = path.join(dir, "prometheus.yml");
  writeFileSync(configFile, configText);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    "prometheus",
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const collect = (d: Buffer): void => void output.push(...d.toString().split("\n").filter(Boolean));
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited:\n${output.join("\n")}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 20_000, what: `prometheus ready on ${url}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid!,
    url,
    output,
    async api<T>(pathAndQuery: string): Promise<T> {
      const res = await fetch(`${url}${pathAndQuery}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (!res.ok || body.status !== "success") throw new Error(`${pathAndQuery}: ${res.status} ${body.error}`);
      return body.data;
    },
    stop,
  };
}
