import { describe, expect, it } from "vitest";
import { ETCD_MISSING, etcdInstalled } from "@breakwater/testkit";
import { checkVerdicts } from "../__fixtures__/verdict-check.js";
import type { BenchSettings } from "../suite.js";
import { createCoordinatorReplicasSuite } from "./coordinator-replicas.js";

// Starts the built coordinator (apps/breaker-coordinator/dist; run `npx nx run-many -t build` first) and etcd.
describe.skipIf(!etcdInstalled())(
  `coordinator-replicas suite (${etcdInstalled() ? "etcd found" : ETCD_MISSING})`,
  () => {
    const title =
      "fan-out, absorption and failover on 3 replicas over etcd; verdicts agree with figures; no process left";
    it(
      title,
      async () => {
        const lines: string[] = [];
        const tables: string[] = [];
        const log = (l: string): number => lines.push(l);
        const settings: BenchSettings = {
          seconds: 1,
          warmupSeconds: 0,
          rounds: 1,
          inFlight: 1,
          serverNodeArgs: [],
          log,
        };
        const suite = createCoordinatorReplicasSuite({
          sessions: 6,
          fanOutRuns: 3,
          failoverClients: 4,
          kills: 1,
          printTable: (t) => void tables.push(t),
        });
        const comparisons = await suite.run(settings);
        expect(comparisons).toHaveLength(1);
        expect(comparisons[0]!.measurements.map((m) => m.name)).toEqual(["single", "3 replicas"]);
        expect(tables).toHaveLength(1);
        const table = tables[0]!;
        expect(table).toMatch(/OPEN at each session, 3 replicas\s+18\s+ms /);
        expect(table).toMatch(/OPEN at all 6, 3 replicas\s+3\s+ms /);
        expect(table).toMatch(/SIGKILL → snapshot on a survivor, per client\s+[1-4]\s+ms /);
        expect(checkVerdicts(table)).toBe(4);
        const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
        expect(pids).toHaveLength(5); // the single process, 3 replicas, the killed one again
        const etcdPids = /etcd: 3 nodes, pids ([\d, ]+)/.exec(lines.join("\n"))![1]!.split(", ").map(Number);
        expect(etcdPids).toHaveLength(3);
        for (const pid of [...pids, ...etcdPids]) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
      },
      120_000,
    );
  },
);
