import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./eventually.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

/** Options of `startEtcdCluster`. */
export interface EtcdClusterOptions {
  /** Members (default 3). */
  readonly nodes?: number;
  /** How long the cluster may take to report healthy (default 15 s; a bound, not a target). */
  readonly timeoutMs?: number;
}

/** A real etcd cluster on loopback: one `etcd` process per node, each with its own data dir. */
export interface EtcdCluster {
  /** Client URLs, one per node ("http://127.0.0.1:<port>"). */
  readonly endpoints: readonly string[];
  /** Every line each node wrote (stderr: etcd logs there). */
  readonly output: readonly string[][];
  /** The PID of node `i` while it runs. */
  pid(i: number): number | undefined;
  /** SIGKILLs node `i` and waits for its process to exit (its ports are free again then). */
  kill(i: number): Promise<void>;
  /**
   * Starts node `i` again on the same ports and data dir (killing it first if it runs). It answers health only
   * with a quorum: after restarting enough nodes, wait with `healthy()`.
   */
  restart(i: number): Promise<void>;
  /** The index of the current leader (asked of the running nodes), or undefined while there is none. */
  leader(): Promise<number | undefined>;
  /** Waits until `etcdctl endpoint health` passes on every running node. */
  healthy(): Promise<void>;
  /** Kills every node and removes the data dirs. */
  stop(): Promise<void>;
}

/** True when the `etcd` and `etcdctl` binaries are on the PATH (Debian: `apt-get install etcd-server etcd-client`). */
export function etcdInstalled(): boolean {
  const ok = (bin: string, arg: string): boolean => spawnSync(bin, [arg], { stdio: "ignore" }).status === 0;
  return ok("etcd", "--version") && ok("etcdctl", "version");
}

/** Why etcd tests are skipped, for `describe.skipIf(...)` titles and logs. */
export const ETCD_MISSING = "etcd is not installed (apt-get install etcd-server): etcd tests skipped";

/**
 * Starts an etcd cluster of `nodes` members on free loopback ports, with
 * short heartbeats (100 ms) and elections (1 s) so that tests see a leader
 * loss in about a second, and waits until every member answers health.
 */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const nodes = options.nodes ?? 3;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const dir = mkdtempSync(join(tmpdir(), "bw-etcd-"));
  const members: { name: string; client: number; peer: number; dataDir: string }[] = [];
  for (let i = 0; i < nodes; i++) {
    members.push({ name: `n${i}`, client: await freePort(), peer: await freePort(), dataDir: join(dir, `n${i}`) });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const endpoints = members.map((m) => `http://127.0.0.1:${m.client}`);
  // One token for every member of this cluster, unlike any other cluster's (ports are unique while it runs).
  const clusterToken = `bw-test-${members.map((m) => m.peer).join("-")}`;
  const children: (ChildProcess | undefined)[] = [];
  const exits: (Promise<void> | undefined)[] = [];
  const output: string[][] = members.map(() => []);

  const launch = (i: number, state: "new" | "existing"): void => {
    const m = members[i]!;
    // prettier-ignore
    const child = spawn("etcd", [
      "--name", m.name,
      "--data-dir", m.dataDir,
      "--listen-client-urls", endpoints[i]!,
      "--advertise-client-urls", endpoints[i]!,
      "--listen-peer-urls", `http://127.0.0.1:${m.peer}`,
      "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peer}`,
      "--initial-cluster", initialCluster,
      "--initial-cluster-state", state,
      "--initial-cluster-token", clusterToken,
      "--heartbeat-interval", "100",
      "--election-timeout", "1000",
      "--logger", "zap",
      "--log-level", "warn",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const onData = (d: Buffer): void => void output[i]!.push(...d.toString().split("\n").filter(Boolean));
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    children[i] = child;
    exits[i] = new Promise((done) => child.once("exit", () => done()));
  };

  const etcdctl = async (i: number, ...args: string[]): Promise<string | undefined> =>
    run("etcdctl", ["--endpoints", endpoints[i]!, "--command-timeout=1s", ...args]).then(
      (r) => r.stdout,
      () => undefined,
    );
  const healthOf = async (i: number): Promise<boolean> => (await etcdctl(i, "endpoint", "health")) !== undefined;
  const running = (): number[] => members.map((_, i) => i).filter((i) => children[i] !== undefined);

  const cluster: EtcdCluster = {
    endpoints,
    output,
    pid: (i) => children[i]?.pid,
    async kill(i) {
      const child = children[i];
      if (child === undefined) return;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exits[i];
      children[i] = undefined;
    },
    async restart(i) {
      await cluster.kill(i);
      launch(i, "existing");
    },
    async leader() {
      for (const i of running()) {
        const status = await etcdctl(i, "endpoint", "status", "-w", "json");
        // Member ids are 64-bit: compared as digits, not as (rounded) JSON numbers.
        const member = /"member_id":(\d+)/.exec(status ?? "")?.[1];
        const leader = /"leader":(\d+)/.exec(status ?? "")?.[1];
        if (member !== undefined && member === leader) return i;
      }
      return undefined;
    },
    async healthy() {
      await eventually(async () => (await Promise.all(running().map(healthOf))).every(Boolean), {
        timeoutMs,
        what: "etcd cluster healthy",
        everyMs: 100,
      });
    },
    async stop() {
      await Promise.all(members.map((_, i) => cluster.kill(i)));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  for (let i = 0; i < nodes; i++) launch(i, "new");
  try {
    await cluster.healthy();
  } catch (err) {
    await cluster.stop();
    throw new Error(`${String(err)}\n${output.map((o, i) => `node ${i}:\n${o.slice(-20).join("\n")}`).join("\n")}`);
  }
  return cluster;
}
