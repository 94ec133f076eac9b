import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseBreakerConfigFile } from "@breakwater/breaker";
import { createBreakerClient, type BreakerClient } from "@breakwater/breaker/session";
import { coordinatorTransport } from "@breakwater/fleet-kit";
import { eventually, freePort } from "@breakwater/testkit";
import { startCacheStoreFleet } from "../cache-store-fleet.js";
import { formatLatencyReport, statOf, type LatencyScenario } from "../latency-report.js";
import { ServiceProcesses } from "../service-processes.js";
import type { Suite } from "../suite.js";

const BREAKER = "s3:http://storage.bench:9000";
/** packages/breaker's breaker-client test's configuration: detach_after 500 ms. */
const CLIENT_YAML = [
  "defaults:",
  "  open_timeout: 2s",
  "  open_jitter: 0",
  "  heartbeat_interval: 200ms",
  "  detach_after: 500ms",
  "",
].join("\n");
/** apps/gateway's fleet-breakers test's configuration: detach_after 1 s. */
const FLEET_YAML = [
  "defaults:",
  "  open_timeout: 2s",
  "  open_jitter: 0",
  "  probe_lease: 2s",
  "  detach_after: 1s",
  "  heartbeat_interval: 200ms",
  "  success_threshold: 2",
  "  half_open_max_probes: 1",
  "",
].join("\n");

/** Options of {@link createSessionSuite}; the defaults are what `npm run bench -- session` runs. */
export interface SessionOptions {
  /** Coordinator kills with three breaker clients attached (default 5). */
  readonly kills?: number;
  /** admit() calls per timed run (default 100 000). */
  readonly admitCalls?: number;
  /** Timed runs per client, attached and detached, per kill (default 10). */
  readonly admitRuns?: number;
  /** Gateway reads per phase: attached, from the kill on, detached (default 200). */
  readonly reads?: number;
  /** Receives the table (default: written to stdout). */
  readonly printTable?: (table: string) => void;
}

/** Yields to the event loop until `cond` holds (as the breaker-client test does); answers the ms. */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - start;
}

/**
 * ns per admit() of each timed run of `calls` calls, after a warm-up. Every
 * answer is used (allowed ones counted), so the compiler cannot drop the call.
 */
function nsPerAdmit(client: BreakerClient, calls: number, runs: number): number[] {
  const b = client.breaker(BREAKER);
  let allowed = 0;
  for (let i = 0; i < 10_000; i++) if (b.admit().allowed) allowed++;
  const out: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) if (b.admit().allowed) allowed++;
    out.push(Number(process.hrtime.bigint() - start) / calls);
  }
  // Closed throughout (nothing fails here): every call admitted.
  const refused = 10_000 + calls * runs - allowed;
  if (refused !== 0) throw new Error(`admit() refused ${refused} calls of a closed breaker`);
  return out;
}

/** Three breaker clients on real sessions with a coordinator process, SIGKILLed and started again `kills` times. */
async function clientsDetaching(
  kills: number,
  admitCalls: number,
  admitRuns: number,
  procs: ServiceProcesses,
  log: (line: string) => void,
): Promise<LatencyScenario> {
  const dir = mkdtempSync(join(tmpdir(), "bw-bench-session-"));
  const clients: BreakerClient[] = [];
  try {
    writeFileSync(join(dir, "breakers.yaml"), CLIENT_YAML);
    const port = await freePort();
    const env = {
      BREAKER_CONFIG: join(dir, "breakers.yaml"),
      COORDINATOR_STATE_FILE: join(dir, "state.json"),
      COORDINATOR_PORT: String(port),
      COORDINATOR_HOST: "127.0.0.1",
    };
    let coordinator = await procs.start("breaker-coordinator", env, log, "coordinator");
    const config = parseBreakerConfigFile(CLIENT_YAML);
    for (const i of [1, 2, 3]) {
      clients.push(
        createBreakerClient({
          transport: coordinatorTransport(`http://127.0.0.1:${port}`),
          instanceId: `i${i}`,
          service: "bench",
          address: `i${i}:50051`,
          breakers: [BREAKER],
          config,
        }),
      );
    }
    for (const c of clients) c.start();
    const detachMs: number[] = [];
    const attachedNs: number[] = [];
    const detachedNs: number[] = [];
    for (let kill = 1; kill <= kills; kill++) {
      await until(() => clients.every((c) => c.connected && !c.detached), 10_000, "every client attached");
      for (const c of clients) attachedNs.push(...nsPerAdmit(c, admitCalls, admitRuns));
      const killedAt = performance.now();
      await coordinator.stop("SIGKILL");
      await until(() => clients.every((c) => c.detached), 5_000, "every client detached");
      detachMs.push(performance.now() - killedAt);
      for (const c of clients) detachedNs.push(...nsPerAdmit(c, admitCalls, admitRuns));
      log(`  session: kill ${kill}/${kills}: every client detached ${detachMs.at(-1)!.toFixed(0)} ms after SIGKILL`);
      coordinator = await procs.start("breaker-coordinator", env, log, "coordinator (again, same port)");
    }
    const admitTarget = [{ stat: "p50", op: "<", limit: 1_000 }] as const;
    const attached = `admit(), attached (runs of ${admitCalls})`;
    return {
      name: `3 breaker clients, coordinator SIGKILLed ${kills}×`,
      measures: [
        {
          name: "SIGKILL → every client detached (detach_after 500 ms)",
          unit: "ms",
          values: detachMs,
          targets: [{ stat: "max", op: "<", limit: 1_500 }],
        },
        { name: attached, unit: "ns", values: attachedNs, targets: admitTarget },
        {
          name: `admit(), detached (runs of ${admitCalls})`,
          unit: "ns",
          values: detachedNs,
          targets: admitTarget,
          baseline: attached,
        },
      ],
    };
  } finally {
    for (const c of clients) c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A gateway on 3 cache-store replicas and a coordinator: reads of a cached key around a coordinator SIGKILL. */
async function gatewayCutOff(
  reads: number,
  procs: ServiceProcesses,
  log: (line: string) => void,
): Promise<LatencyScenario> {
  const fleet = await startCacheStoreFleet({ replicas: 3, breakerYaml: FLEET_YAML, log });
  try {
    const gateway = await procs.start(
      "gateway",
      {
        COORDINATOR_URL: `http://${fleet.coordinator.grpcAddress}`,
        CACHE_STORE_URLS: fleet.replicas.map((r) => `http://${r.grpcAddress}`).join(","),
        GATEWAY_HOST: "127.0.0.1",
        // No near-cache: every read goes to a replica, whose storage breaker is the one cut off.
        GATEWAY_CACHE_MAX_BYTES: "0",
      },
      log,
      "gateway",
    );
    const url = `${gateway.httpUrl}/objects/default/session/cached.txt`;
    const body = "body of session/cached.txt";
    const put = await fetch(url, { method: "PUT", body });
    await put.arrayBuffer();
    if (put.status !== 200) throw new Error(`PUT through the gateway answered ${put.status}`);
    const latencies = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const started = performance.now();
        const res = await fetch(url);
        const text = await res.text();
        out.push(performance.now() - started);
        if (res.status !== 200 || text !== body) {
          throw new Error(`gateway read answered ${res.status} ${JSON.stringify(text)}`);
        }
      }
      return out;
    };
    await latencies(Math.max(reads, 10)); // warm-up: the key's owner replica holds a copy
    const detached = async (): Promise<boolean[]> =>
      Promise.all(
        fleet.clients.map(async (c) => {
          const stats = await c.getStats({});
          return stats.breakers.find((b) => b.name === fleet.breaker)?.detached === true;
        }),
      );
    const attached = await latencies(reads);
    const killedAt = performance.now();
    await fleet.coordinator.stop("SIGKILL");
    // Every replica's GetStats, watched every 20 ms in the background while the reads go on (20 ms resolution).
    const detachedAfter: (number | undefined)[] = fleet.replicas.map(() => undefined);
    const watcher = (async () => {
      while (detachedAfter.some((t) => t === undefined) && performance.now() - killedAt < 10_000) {
        (await detached()).forEach((d, i) => (detachedAfter[i] ??= d ? performance.now() - killedAt : undefined));
        await sleep(20);
      }
    })();
    const cutOff = await latencies(reads);
    await watcher;
    if (detachedAfter.some((t) => t === undefined)) {
      throw new Error(`not every replica detached within 10 s: ${detachedAfter.join("/")}`);
    }
    await eventually(async () => (await detached()).every(Boolean), {
      timeoutMs: 1_000,
      what: "every replica detached",
    });
    const afterDetach = await latencies(reads);
    log(`  session: replicas detached ${detachedAfter.map((t) => t!.toFixed(0)).join("/")} ms after SIGKILL`);
    // apps/gateway's fleet-breakers test: the median within 2× attached's, with 0.5 ms of slack for sub-ms noise.
    const p50 = statOf(attached, "p50");
    const bound = {
      stat: "p50",
      op: "≤",
      limit: Math.max(2 * p50, p50 + 0.5),
      basis: "max(2 × attached p50, attached p50 + 0.5 ms)",
    } as const;
    const base = "GET, coordinator attached (base)";
    return {
      name: `gateway → 3 replicas, ${reads} reads of a cached key per phase`,
      measures: [
        { name: base, unit: "ms", values: attached },
        { name: "GET, from the SIGKILL on", unit: "ms", values: cutOff, targets: [bound], baseline: base },
        { name: "GET, every replica detached", unit: "ms", values: afterDetach, targets: [bound], baseline: base },
        {
          name: "SIGKILL → replica detached (detach_after 1 s)",
          unit: "ms",
          values: detachedAfter.map((t) => t!),
          targets: [{ stat: "max", op: "<", limit: 2_000 }],
        },
      ],
    };
  } finally {
    await procs.stopAll();
    await fleet.close();
  }
}

/**
 * Issue 10: the figures of the coordinator's sessions that the breaker-client
 * and fleet-breakers tests used to assert — how long after the coordinator
 * dies every client detaches, what admit() costs attached and detached, and
 * whether a gateway's reads slow down while the coordinator is gone.
 */
export function createSessionSuite(options: SessionOptions = {}): Suite {
  const kills = options.kills ?? 5;
  const admitCalls = options.admitCalls ?? 100_000;
  const admitRuns = options.admitRuns ?? 10;
  const reads = options.reads ?? 200;
  if (!(kills >= 1 && admitCalls >= 1 && admitRuns >= 1 && reads >= 1)) {
    throw new RangeError("session: counts must be ≥ 1");
  }
  const printTable = options.printTable ?? ((table: string) => process.stdout.write(`\n${table}\n`));
  const title =
    "session — breaker clients and replicas when the coordinator is SIGKILLed: " +
    "time to detach, admit() cost, request latency";
  return {
    name: "session",
    title,
    async run(settings) {
      const procs = new ServiceProcesses();
      try {
        const clients = await clientsDetaching(kills, admitCalls, admitRuns, procs, settings.log);
        await procs.stopAll();
        const gateway = await gatewayCutOff(reads, procs, settings.log);
        printTable(
          formatLatencyReport(
            `${title}\n(admit(): ns per call of each timed run, ${admitRuns} runs per client and phase; ` +
              `ms on this process's clock; p99 by nearest rank; node ${process.version})`,
            [clients, gateway],
          ),
        );
        return [];
      } finally {
        await procs.close();
      }
    },
  };
}

export const sessionSuite: Suite = createSessionSuite();
