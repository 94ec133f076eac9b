import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBreakerConfigFile } from "@breakwater/breaker";
import {
  createBreakerClient,
  type AttachedEvent,
  type BreakerClient,
  type BreakerClientEvent,
} from "@breakwater/breaker/session";
import { coordinatorTransport } from "@breakwater/fleet-kit";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcCallOptions, type GrpcClient } from "@breakwater/server-kit";
import {
  ETCD_MISSING,
  etcdInstalled,
  eventually,
  freePort,
  startEtcdCluster,
  type EtcdCluster,
  type ServiceProcess,
} from "@breakwater/testkit";
import { compareAbsorption, type AbsorbSide } from "../absorb-rounds.js";
import { formatLatencyReport, type LatencyScenario } from "../latency-report.js";
import { processCpuMicros } from "../proc-cpu.js";
import type { Comparison } from "../report.js";
import { ServiceProcesses } from "../service-processes.js";
import { openSessionFleet, probeRequestBytes, reportBytes, type SessionFleet } from "../session-fleet.js";
import type { Suite } from "../suite.js";

const { BreakerState, ForceMode } = breakerV1;
const throughputBreaker = "s3:http://bench-throughput.invalid:9000";
const fanOutBreaker = "s3:http://bench-fanout.invalid:9000";
const failoverBreaker = "s3:http://bench-failover.invalid:9000";
/**
 * The acknowledgement the report pump waits for: a ProbeRequest for a breaker no session reports on. On a
 * replica, a ProbeRequest for a breaker it holds reads the probe slots in etcd first (even when closed), which
 * would make the figure etcd's read latency; for one it does not hold the refusal is immediate, as on the
 * single process.
 */
const ackBreaker = "s3:http://bench-ack.invalid:9000";
const heartbeatMs = 1000;
/**
 * A busy instance's 100 ms per report, as the coordinator suite, and an acknowledgement every 16 reports, but
 * one in flight per session (the coordinator suite has 4): with 4, the replicas (≈200 µs of CPU per report,
 * 20× the single process) held so much backlog on this shared machine that their etcd calls missed their
 * deadlines, they declared etcd lost and ended every session (two runs out of three).
 */
const successesPerReport = 20;
const reportsPerAck = 16;
const acksInFlight = 1;
/** The coordinator's BREAKER_CONFIG (the coordinator suite's) for both sides. */
const coordinatorYaml =
  `defaults:\n  open_timeout: 2s\n  max_open_timeout: 4s\n` +
  `  open_jitter: 0\n  heartbeat_interval: ${heartbeatMs}ms\n`;
/** The failover clients' configuration: the fleet tests' (heartbeat 200 ms, detach_after 1 s). */
const clientYaml = "defaults:\n  heartbeat_interval: 200ms\n  detach_after: 1s\n  open_jitter: 0\n";
/** Issue 4's fan-out target is p99 < 20 ms in one process; through etcd (a Raft commit and a watch) 50 ms. */
const fanOutTargetMs = 50;
/** Issue 11: an instance whose replica dies has a session on another "within a second or so"; p99 < 2 s. */
const failoverTargetMs = 2_000;

type Ops = GrpcClient<typeof breakerV1.BreakerCoordinator>;

/** Options of {@link createCoordinatorReplicasSuite}; the defaults are what `npm run bench` runs. */
export interface CoordinatorReplicasSuiteOptions {
  /** Simulated instances, each on its own Session stream, per side (default 50; spread over 3 replicas). */
  readonly sessions?: number;
  /** Measured ForceBreaker runs per side (default 100), after 5 unmeasured ones. */
  readonly fanOutRuns?: number;
  /** Breaker clients (in this process, the real session client) that fail over (default 30). */
  readonly failoverClients?: number;
  /** Replica SIGKILLs, each of the replica holding the most of those clients (default 3). */
  readonly kills?: number;
  /** Receives the latency table (default: written to stdout). */
  readonly printTable?: (table: string) => void;
}

/** Several fleets as one: sessions interleaved (the n-th session is on fleet n mod k), pumped together. */
function combinedFleet(fleets: readonly SessionFleet[]): SessionFleet {
  const sessions = [];
  const longest = Math.max(...fleets.map((f) => f.sessions.length));
  for (let i = 0; i < longest; i++) for (const f of fleets) if (i < f.sessions.length) sessions.push(f.sessions[i]!);
  return {
    sessions,
    pump(bytes, flow) {
      const stops = fleets.map((f) => f.pump(bytes, flow));
      return async () => (await Promise.all(stops.map((stop) => stop()))).reduce((a, b) => a + b, 0);
    },
    close: async () => void (await Promise.all(fleets.map((f) => f.close()))),
  };
}

/** `coordinator_reports_total` from a coordinator's /metrics (reports and heartbeats its sessions sent). */
async function reportsCounter(httpUrl: string): Promise<number> {
  const res = await fetch(`${httpUrl}/metrics`);
  const text = await res.text();
  const m = /^coordinator_reports_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (m === null)
    throw new Error(`${httpUrl}/metrics (${res.status}) has no coordinator_reports_total: ${text.slice(0, 300)}`);
  return Number(m[1]);
}

/** "3.4.30", from `etcd --version`. */
function etcdVersion(): string {
  const out = spawnSync("etcd", ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? "unknown";
}

/** A side of the fan-out: its sessions and the ops client ForceBreaker is called on. */
interface ForceTarget {
  readonly name: string;
  readonly fleet: SessionFleet;
  readonly ops: Ops;
  readonly admin: GrpcCallOptions;
}

/** One run's receipts, ms from the ForceBreaker call: OPEN at each session, then CLOSED (AUTO) at each. */
interface ForceSample {
  readonly open: number[];
  readonly closed: number[];
}

async function within<T>(what: string, promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** ForceBreaker OPEN, timed to its receipt at every session; then AUTO (which closes it), timed the same way. */
async function forceRun(t: ForceTarget): Promise<ForceSample> {
  const receipts = async (state: breakerV1.BreakerState, call: () => Promise<unknown>): Promise<number[]> => {
    const arrivals = t.fleet.sessions.map((s) => s.nextState(fanOutBreaker, state));
    const t0 = performance.now();
    await call();
    const at = await within(`${t.name}: ${BreakerState[state]} at every session`, Promise.all(arrivals));
    return at.map((a) => a - t0);
  };
  const open = await receipts(BreakerState.OPEN, () =>
    t.ops.forceBreaker({ name: fanOutBreaker, mode: ForceMode.OPEN, reason: "bench" }, t.admin),
  );
  const closed = await receipts(BreakerState.CLOSED, () =>
    t.ops.forceBreaker({ name: fanOutBreaker, mode: ForceMode.AUTO, reason: "bench done" }, t.admin),
  );
  return { open, closed };
}

/**
 * Issue 11's figures: the coordinator as 3 replicas over a 3-node etcd
 * against the single-process coordinator, in the same run — ForceBreaker's
 * transition reaching 50 sessions (spread over the replicas), outcome reports
 * absorbed per second, and how long the real breaker client is without a
 * session when the replica it is on is SIGKILLed.
 */
export function createCoordinatorReplicasSuite(options: CoordinatorReplicasSuiteOptions = {}): Suite {
  const sessions = options.sessions ?? 50;
  const fanOutRuns = options.fanOutRuns ?? 100;
  const fanOutWarmups = 5;
  const failoverClients = options.failoverClients ?? 30;
  const kills = options.kills ?? 3;
  if (!(sessions >= 3 && fanOutRuns >= 1 && failoverClients >= 1 && kills >= 1))
    throw new RangeError("coordinator-replicas: sessions must be ≥ 3 and the other counts ≥ 1");
  const printTable = options.printTable ?? ((table: string) => process.stdout.write(`\n${table}\n`));
  const title =
    `coordinator-replicas: 3 coordinator replicas on a 3-node etcd vs the single-process coordinator — ` +
    `transition fan-out to ${sessions} sessions, reports absorbed, session failover`;
  return {
    name: "coordinator-replicas",
    title,
    async run(settings) {
      if (!etcdInstalled()) {
        settings.log(`  coordinator-replicas: ${ETCD_MISSING}`);
        return [];
      }
      const dir = mkdtempSync(join(tmpdir(), "bw-bench-replicas-"));
      const token = randomBytes(16).toString("hex");
      const admin = { headers: { authorization: `Bearer ${token}` } };
      const procs = new ServiceProcesses();
      let etcd: EtcdCluster | undefined;
      const fleets: SessionFleet[] = [];
      const opsClients: Ops[] = [];
      const clients: BreakerClient[] = [];
      const replicas: ServiceProcess[] = [];
      // etcd is not a ServiceProcesses child: killed by pid if the bench exits before the finally below.
      const killEtcd = (): void => {
        for (const i of [0, 1, 2]) {
          try {
            const pid = etcd?.pid(i);
            if (pid !== undefined) process.kill(pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      };
      process.once("exit", killEtcd);
      try {
        writeFileSync(join(dir, "breakers.yaml"), coordinatorYaml);
        etcd = await startEtcdCluster({ nodes: 3 });
        settings.log(`  etcd: 3 nodes, pids ${[0, 1, 2].map((i) => etcd!.pid(i)).join(", ")}`);
        const common = {
          BREAKER_CONFIG: join(dir, "breakers.yaml"),
          COORDINATOR_HOST: "127.0.0.1",
          BW_ADMIN_TOKEN: token,
        };
        const single = await procs.start(
          "breaker-coordinator",
          { ...common, COORDINATOR_STATE_FILE: join(dir, "state.json") },
          settings.log,
          "single-process coordinator",
        );
        const ports = [await freePort(), await freePort(), await freePort()];
        const replicaEnv = (r: number): Record<string, string> => ({
          ...common,
          COORDINATOR_PORT: String(ports[r]),
          COORDINATOR_STATE_FILE: join(dir, `unused-${r}.json`),
          COORDINATOR_ETCD_ENDPOINTS: etcd!.endpoints.join(","),
          // COORDINATOR_ETCD_LEASE_TTL as operators get it (5 s): with 2 s, a replica saturated by the report flood
          // on a busy machine missed its keepalives and lost its lease (ending its sessions) in one run.
          COORDINATOR_REPLICA_ID: `replica-${r}`,
        });
        for (const r of [0, 1, 2])
          replicas.push(await procs.start("breaker-coordinator", replicaEnv(r), settings.log, `replica ${r}`));
        const ops = (address: string): Ops => {
          const c = createGrpcClient(breakerV1.BreakerCoordinator, address, { "grpc.use_local_subchannel_pool": 1 });
          opsClients.push(c);
          return c;
        };

        // Sessions: all on the single process; a third on each replica.
        const breakers = [throughputBreaker, fanOutBreaker];
        const singleFleet = await openSessionFleet({
          address: single.grpcAddress,
          sessions,
          channels: 4,
          breakers,
          idPrefix: "single",
          heartbeatMs,
        });
        fleets.push(singleFleet);
        const perReplica = await Promise.all(
          [0, 1, 2].map((r) =>
            openSessionFleet({
              address: replicas[r]!.grpcAddress,
              sessions: Math.floor(sessions / 3) + (r < sessions % 3 ? 1 : 0),
              channels: 2,
              breakers,
              idPrefix: `replica${r}`,
              heartbeatMs,
            }),
          ),
        );
        fleets.push(...perReplica);
        const replicaFleet = combinedFleet(perReplica);
        settings.log(
          `  ${sessions} sessions on the single process, ${perReplica.map((f) => f.sessions.length).join("+")}` +
            ` on the replicas; every snapshot received`,
        );

        // Reports absorbed per second: each side's own count (coordinator_reports_total, heartbeats included).
        const scenario = `reports, ${sessions} sessions`;
        const absorbSides: AbsorbSide[] = [
          {
            name: "single",
            fleet: singleFleet,
            absorbed: () => reportsCounter(single.httpUrl),
            cpuMicros: async () => processCpuMicros(single.pid),
          },
          {
            name: "3 replicas",
            fleet: replicaFleet,
            absorbed: async () =>
              (await Promise.all(replicas.map((r) => reportsCounter(r.httpUrl)))).reduce((a, b) => a + b, 0),
            // The three replicas' CPU together (etcd's is not counted).
            cpuMicros: async () => {
              const each = await Promise.all(replicas.map((r) => processCpuMicros(r.pid)));
              return each.every((c) => c !== undefined) ? each.reduce((a, b) => a! + b!, 0) : undefined;
            },
          },
        ];
        const flow = { batch: reportsPerAck, window: acksInFlight, ack: probeRequestBytes(ackBreaker) };
        // Bounded: a session a replica ended would leave its pump waiting for acknowledgements for ever.
        const absorbBoundMs = 2 * (settings.warmupSeconds + settings.seconds) * 1000 + 60_000;
        const measurements = await within(
          "reports absorbed",
          compareAbsorption(
            scenario,
            absorbSides,
            reportBytes(throughputBreaker, successesPerReport, 0),
            flow,
            settings,
          ),
          absorbBoundMs,
        );

        // ForceBreaker fan-out: the single process, and replica 0 (a third of the sessions on it, the rest on
        // the others, which learn the commit from their etcd watch). Alternating, as the coordinator suite.
        const targets: ForceTarget[] = [
          { name: "single", fleet: singleFleet, ops: ops(single.grpcAddress), admin },
          { name: "3 replicas", fleet: replicaFleet, ops: ops(replicas[0]!.grpcAddress), admin },
        ];
        const samples: ForceSample[][] = [[], []];
        settings.log(`  fan-out: ${fanOutWarmups} warm-up and ${fanOutRuns} measured ForceBreaker runs per side`);
        for (let run = -fanOutWarmups; run < fanOutRuns; run++) {
          for (const t of run % 2 === 0 ? targets : [...targets].reverse()) {
            const sample = await forceRun(t);
            if (run >= 0) samples[targets.indexOf(t)]!.push(sample);
          }
        }
        const each = (i: number, k: keyof ForceSample): number[] => samples[i]!.flatMap((s) => s[k]);
        const all = (i: number, k: keyof ForceSample): number[] => samples[i]!.map((s) => Math.max(...s[k]));
        const fanOutTarget = [{ stat: "p99", op: "<", limit: fanOutTargetMs } as const];
        const fanOut: LatencyScenario = {
          name: `ForceBreaker → transition received, ${sessions} sessions, ${fanOutRuns} runs`,
          measures: [
            { name: "OPEN at each session, single (base)", unit: "ms", values: each(0, "open") },
            {
              name: "OPEN at each session, 3 replicas",
              unit: "ms",
              values: each(1, "open"),
              baseline: "OPEN at each session, single (base)",
              targets: fanOutTarget,
            },
            { name: `OPEN at all ${sessions}, single (base)`, unit: "ms", values: all(0, "open") },
            {
              name: `OPEN at all ${sessions}, 3 replicas`,
              unit: "ms",
              values: all(1, "open"),
              baseline: `OPEN at all ${sessions}, single (base)`,
              targets: fanOutTarget,
            },
            { name: "AUTO → CLOSED at each, single (base)", unit: "ms", values: each(0, "closed") },
            {
              name: "AUTO → CLOSED at each, 3 replicas",
              unit: "ms",
              values: each(1, "closed"),
              baseline: "AUTO → CLOSED at each, single (base)",
            },
          ],
        };
        await Promise.all(fleets.splice(0).map((f) => f.close()));

        // Failover: the real breaker client, COORDINATOR_URL listing the 3 replicas; the replica with the most
        // clients is SIGKILLed, then started again on its port before the next kill.
        const config = parseBreakerConfigFile(clientYaml);
        const urls = ports.map((p) => `http://127.0.0.1:${p}`);
        const events: AttachedEvent[][] = [];
        for (let i = 0; i < failoverClients; i++) {
          const seen: AttachedEvent[] = [];
          events.push(seen);
          const client = createBreakerClient({
            transport: coordinatorTransport(urls),
            instanceId: `failover-${i}`,
            service: "bench",
            address: `failover-${i}:50051`,
            breakers: [failoverBreaker],
            config,
            onEvent: (e: BreakerClientEvent) => {
              if (e.type === "attached") seen.push(e);
            },
          });
          clients.push(client);
          client.start();
        }
        const killToSnapshot: number[] = [];
        const withoutSession: number[] = [];
        let detachedMeanwhile = 0;
        for (let kill = 1; kill <= kills; kill++) {
          await eventually(
            () => clients.every((c) => c.connected && !c.detached) && events.every((e) => e.length > 0),
            {
              what: "every failover client attached",
              timeoutMs: 15_000,
            },
          );
          const on = events.map((e) => e.at(-1)!.replica);
          const victim = [0, 1, 2].reduce((a, b) =>
            on.filter((u) => u === urls[b]).length > on.filter((u) => u === urls[a]).length ? b : a,
          );
          const moving = events.map((e, i) => ({ i, before: e.length })).filter(({ i }) => on[i] === urls[victim]);
          const killedAt = performance.now();
          await replicas[victim]!.stop("SIGKILL");
          const arrivedAt = new Map<number, number>();
          await eventually(
            () => {
              for (const m of moving)
                if (!arrivedAt.has(m.i) && events[m.i]!.length > m.before) arrivedAt.set(m.i, performance.now());
              return arrivedAt.size === moving.length;
            },
            { what: `the ${moving.length} clients of replica ${victim} attached again`, everyMs: 1, timeoutMs: 15_000 },
          );
          for (const m of moving) {
            const e = events[m.i]!.at(-1)!;
            killToSnapshot.push(arrivedAt.get(m.i)! - killedAt);
            withoutSession.push(e.withoutSessionMs ?? Number.NaN);
            if (e.afterDetach) detachedMeanwhile++;
          }
          const lastMs = Math.max(...moving.map((m) => arrivedAt.get(m.i)! - killedAt));
          settings.log(
            `  failover: kill ${kill}/${kills}: replica ${victim} had ${moving.length} of ${failoverClients} ` +
              `clients; all on a survivor ${lastMs.toFixed(0)} ms after SIGKILL`,
          );
          replicas[victim] = await procs.start(
            "breaker-coordinator",
            replicaEnv(victim),
            settings.log,
            `replica ${victim} (again)`,
          );
        }
        const failoverTarget = [{ stat: "p99", op: "<", limit: failoverTargetMs } as const];
        const failover: LatencyScenario = {
          name:
            `${failoverClients} breaker clients on 3 replicas, the busiest SIGKILLed ${kills}× ` +
            `(${detachedMeanwhile} detached meanwhile)`,
          measures: [
            {
              name: "SIGKILL → snapshot on a survivor, per client",
              unit: "ms",
              values: killToSnapshot,
              targets: failoverTarget,
            },
            {
              name: "withoutSessionMs (breaker_session_failover_seconds)",
              unit: "ms",
              values: withoutSession,
              targets: failoverTarget,
            },
          ],
        };
        printTable(
          formatLatencyReport(
            `${title}\n(ms on this process's clock from the call or the SIGKILL; p99 by nearest rank; ` +
              `etcd ${etcdVersion()}; node ${process.version})`,
            [fanOut, failover],
          ),
        );
        const comparison: Comparison = { scenario, baseline: "single", measurements };
        return [comparison];
      } catch (err) {
        // What the replicas logged at warn and error level, to tell a replica's failure from the bench's.
        for (const [r, p] of replicas.entries())
          for (const line of p.output.filter((l) => /"level":(40|50)/.test(l)).slice(-5))
            settings.log(`  replica ${r} (pid ${p.pid}): ${line.slice(0, 1_000)}`);
        throw err;
      } finally {
        for (const c of clients) c.close();
        await Promise.all(fleets.map((f) => f.close()));
        for (const c of opsClients) c.close();
        await procs.close();
        await etcd?.stop();
        process.off("exit", killEtcd);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export const coordinatorReplicasSuite: Suite = createCoordinatorReplicasSuite();
