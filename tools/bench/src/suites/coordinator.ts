import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { compareAbsorption, type AbsorbSide } from "../absorb-rounds.js";
import { startChildServer, type ChildServer } from "../child-server.js";
import { formatFanOutReport } from "../fan-out-report.js";
import { compareFanOut, type FanOutTarget } from "../fan-out.js";
import { processCpuMicros } from "../proc-cpu.js";
import type { Comparison } from "../report.js";
import { openSessionFleet, probeRequestBytes, reportBytes, type SessionFleet } from "../session-fleet.js";
import type { Suite } from "../suite.js";

/** Connections the sessions are spread over, per server. */
const channels = 4;
/** Issue 4: the transition reaches every one of 50 sessions within 20 ms at p99, on loopback. */
const targetP99Ms = 20;
/** Every session says hello for both; only the fan-out breaker ever trips. */
const throughputBreaker = "s3:http://bench-throughput.invalid:9000";
const fanOutBreaker = "s3:http://bench-fanout.invalid:9000";
/** Successes per throughput report: a busy instance's 100 ms. */
const successesPerReport = 20;
/**
 * Each session asks for an acknowledgement (a ProbeRequest, refused while the
 * breaker is closed) after this many reports, with at most `acksInFlight`
 * unanswered: at most 64 reports in flight per session.
 */
const reportsPerAck = 16;
const acksInFlight = 4;
const heartbeatMs = 1000;
/**
 * The coordinator's BREAKER_CONFIG: design.md's defaults (quorum 2 instances,
 * 5 consecutive failures, …) but no jitter and a short open time, so that a
 * run that fails leaves no breaker open for long.
 */
const breakerYaml =
  `defaults:\n  open_timeout: 2s\n  max_open_timeout: 4s\n` +
  `  open_jitter: 0\n  heartbeat_interval: ${heartbeatMs}ms\n`;

type Ops = GrpcClient<typeof breakerV1.BreakerCoordinator>;

/** Reports absorbed so far, from the server's per-instance success totals (ListInstances). */
async function reportsAbsorbed(ops: Ops, prefix: string): Promise<number> {
  const { instances } = await ops.listInstances({});
  const successes = instances
    .filter((i) => i.instanceId.startsWith(prefix))
    .reduce((n, i) => n + Number(i.successes), 0);
  return successes / successesPerReport;
}

/** `coordinator_reports_total` from the coordinator's /metrics. */
async function reportsCounter(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = /^coordinator_reports_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (m === null) throw new Error("coordinator /metrics has no coordinator_reports_total");
  return Number(m[1]);
}

/** Options of `createCoordinatorSuite`; the defaults are what `npm run bench` runs. */
export interface CoordinatorSuiteOptions {
  /** Simulated instances, each on its own Session stream, per server (default 50, as issue 4 asks). */
  readonly sessions?: number;
  /** Measured fan-out runs per server (default 100, so that p99 is the 99th value, not the maximum). */
  readonly fanOutRuns?: number;
  /** Unmeasured fan-out runs per server before them (default 5). */
  readonly fanOutWarmups?: number;
  /**
   * Receives the fan-out table, which is not a throughput Comparison that
   * main.ts could print (default: written to stdout, where the tables go).
   */
  readonly printTable?: (table: string) => void;
}

/**
 * The coordinator (`apps/breaker-coordinator/dist/main.js`, started as
 * operators run it) against a bare grpc-js Session server with the same
 * messages (`servers/session-sink.ts`): outcome reports absorbed per second
 * from 50 sessions (returned as a Comparison), and how fast a
 * threshold-crossing report's transition reaches all 50 sessions (a table
 * of its own, printed by the suite).
 */
export function createCoordinatorSuite(options: CoordinatorSuiteOptions = {}): Suite {
  const sessions = options.sessions ?? 50;
  const fanOutRuns = options.fanOutRuns ?? 100;
  const fanOutWarmups = options.fanOutWarmups ?? 5;
  const printTable = options.printTable ?? ((table: string) => process.stdout.write(`\n${table}\n`));
  if (!(Number.isInteger(sessions) && sessions >= 2))
    throw new RangeError(`sessions must be an integer ≥ 2 (two fail for quorum), got ${sessions}`);
  if (!(Number.isInteger(fanOutRuns) && fanOutRuns >= 1))
    throw new RangeError(`fanOutRuns must be an integer ≥ 1, got ${fanOutRuns}`);
  if (!(Number.isInteger(fanOutWarmups) && fanOutWarmups >= 0))
    throw new RangeError(`fanOutWarmups must be an integer ≥ 0, got ${fanOutWarmups}`);
  return {
    name: "coordinator",
    title:
      `coordinator: outcome reports absorbed from ${sessions} Session streams and transition fan-out to them, ` +
      `breakwater's coordinator vs a bare grpc-js Session server`,
    async run(settings) {
      const dir = mkdtempSync(join(tmpdir(), "bw-bench-coordinator-"));
      const token = randomBytes(16).toString("hex");
      const admin = { headers: { authorization: `Bearer ${token}` } };
      let coordinator: ServiceProcess | undefined;
      let sink: ChildServer | undefined;
      const fleets: SessionFleet[] = [];
      const clients: Ops[] = [];
      // The coordinator is not a startChildServer child: kill it by
      // pid if the bench exits (Ctrl-C) before the finally below.
      const killCoordinator = (): void => {
        try {
          if (coordinator !== undefined) process.kill(coordinator.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      };
      process.once("exit", killCoordinator);
      try {
        writeFileSync(join(dir, "breakers.yaml"), breakerYaml);
        coordinator = await startServiceProcess("breaker-coordinator", {
          env: {
            COORDINATOR_HOST: "127.0.0.1",
            BREAKER_CONFIG: join(dir, "breakers.yaml"),
            COORDINATOR_STATE_FILE: join(dir, "state.json"),
            BW_ADMIN_TOKEN: token,
            LOG_LEVEL: "info",
          },
        });
        settings.log(
          `  coordinator: pid ${coordinator.pid}, gRPC ${coordinator.grpcAddress}, HTTP ${coordinator.httpUrl}`,
        );
        // testkit starts the app with no node flags of ours, and Node 20 refuses --cpu-prof in NODE_OPTIONS.
        if (settings.serverNodeArgs.length > 0)
          settings.log("  coordinator: not profiled (BENCH_PROFILE_DIR applies to the bare server only)");
        // The compiled server, whether this file runs compiled (dist/suites) or from source in tests (src/suites).
        const script = fileURLToPath(new URL("../../dist/session-sink-server.js", import.meta.url));
        sink = await startChildServer({
          name: "bare",
          script,
          args: [`--heartbeat-ms=${heartbeatMs}`],
          nodeArgs: settings.serverNodeArgs,
        });
        settings.log(`  bare Session server: pid ${sink.pid}, port ${sink.port}`);

        const servers = [
          { name: "bare", address: `127.0.0.1:${sink.port}`, cpuMicros: sink.cpuMicros },
          {
            name: "coordinator",
            address: coordinator.grpcAddress,
            cpuMicros: async () => processCpuMicros(coordinator!.pid),
          },
        ];
        const sides: {
          name: string;
          address: string;
          cpuMicros: () => Promise<number | undefined>;
          fleet: SessionFleet;
          ops: Ops;
        }[] = [];
        for (const server of servers) {
          const fleet = await openSessionFleet({
            address: server.address,
            sessions,
            channels,
            breakers: [throughputBreaker, fanOutBreaker],
            idPrefix: "bench",
            heartbeatMs,
          });
          fleets.push(fleet);
          const ops: Ops = createGrpcClient(breakerV1.BreakerCoordinator, server.address, {
            "grpc.use_local_subchannel_pool": 1,
          });
          clients.push(ops);
          sides.push({ ...server, fleet, ops });
          settings.log(`  ${server.name}: ${sessions} sessions over ${channels} connections, every snapshot received`);
        }

        const scenario = `reports, ${sessions} sessions`;
        const counterBefore = await reportsCounter(coordinator.httpUrl);
        const absorbedBefore = await reportsAbsorbed(sides[1]!.ops, "bench-");
        const absorbSides: AbsorbSide[] = sides.map((s) => ({
          name: s.name,
          fleet: s.fleet,
          absorbed: () => reportsAbsorbed(s.ops, "bench-"),
          cpuMicros: s.cpuMicros,
        }));
        const flow = { batch: reportsPerAck, window: acksInFlight, ack: probeRequestBytes(throughputBreaker) };
        const measurements = await compareAbsorption(
          scenario,
          absorbSides,
          reportBytes(throughputBreaker, successesPerReport, 0),
          flow,
          settings,
        );
        // The two ways of counting must agree (the counter also counts heartbeats).
        const counted = (await reportsCounter(coordinator.httpUrl)) - counterBefore;
        const absorbed = (await reportsAbsorbed(sides[1]!.ops, "bench-")) - absorbedBefore;
        settings.log(
          `  coordinator: ${absorbed} reports absorbed by ListInstances' totals, ` +
            `coordinator_reports_total grew by ${counted} (heartbeats included)`,
        );
        if (counted < absorbed)
          throw new Error(
            `coordinator_reports_total grew by ${counted}, less than the ${absorbed} reports ListInstances counted`,
          );

        const targets: FanOutTarget[] = sides.map((s) => ({ name: s.name, fleet: s.fleet, ops: s.ops, admin }));
        const samples = await compareFanOut(targets, fanOutBreaker, fanOutRuns, fanOutWarmups, settings.log);
        const fanOut = formatFanOutReport(
          `coordinator: fan-out of a breaker transition to ${sessions} Session streams, ` +
            `ms from the threshold-crossing report (or the ResetBreaker call)\n` +
            `(${fanOutRuns} runs per server after ${fanOutWarmups} warm-up runs, alternating; ` +
            `quorum of 2 failing instances among ${sessions} reporting; node ${process.version})`,
          {
            sessions,
            baseline: "bare",
            targetP99Ms,
            measurements: targets.map((t, i) => ({ name: t.name, samples: samples[i]! })),
          },
        );
        // main.ts prints the Comparisons it gets back; latencies do not fit them, so this table goes out here.
        printTable(fanOut);
        const comparison: Comparison = { scenario, baseline: "bare", measurements };
        return [comparison];
      } finally {
        await Promise.all(fleets.map((f) => f.close()));
        for (const c of clients) c.close();
        await sink?.stop();
        if (coordinator !== undefined) {
          const pid = coordinator.pid;
          let timer: NodeJS.Timeout | undefined;
          const exited = await Promise.race([
            coordinator.stop("SIGTERM").then(() => true),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000))),
          ]);
          clearTimeout(timer);
          if (!exited) {
            settings.log(`  coordinator (pid ${pid}) still running 5 s after SIGTERM: SIGKILL`);
            await coordinator.stop("SIGKILL");
          }
        }
        process.off("exit", killCoordinator);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The suite as `npm run bench -- coordinator` runs it. */
export const coordinatorSuite: Suite = createCoordinatorSuite();
