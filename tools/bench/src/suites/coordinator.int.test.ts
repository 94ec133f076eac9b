import { describe, expect, it } from "vitest";
import { checkVerdicts } from "../__fixtures__/verdict-check.js";
import type { BenchSettings } from "../suite.js";
import { createCoordinatorSuite } from "./coordinator.js";

// Starts the built coordinator (apps/breaker-coordinator/dist) and
// dist/session-sink-server.js (run `npx tsc -b tools/bench` first).
describe("coordinator suite", () => {
  it("measures absorption and fan-out on both servers and leaves no server running", async () => {
    const lines: string[] = [];
    const tables: string[] = [];
    const settings: BenchSettings = {
      seconds: 0.4,
      warmupSeconds: 0,
      rounds: 2,
      inFlight: 8,
      serverNodeArgs: [],
      log: (l) => lines.push(l),
    };
    const suite = createCoordinatorSuite({
      sessions: 6,
      fanOutRuns: 4,
      fanOutWarmups: 1,
      printTable: (t) => tables.push(t),
    });
    const [comparison, ...rest] = await suite.run(settings);
    expect(rest).toHaveLength(0);
    expect(comparison!.measurements.map((m) => m.name)).toEqual(["bare", "coordinator"]);
    for (const m of comparison!.measurements) {
      expect(m.calls).toBeGreaterThan(0);
      expect(m.roundRates).toHaveLength(2);
      expect(m.serverCpuSeconds).toBeGreaterThan(0);
    }
    expect(tables).toHaveLength(1);
    expect(tables[0]).toMatch(/trip → OPEN at all 6\s+bare \(base\)\s+4 /);
    expect(tables[0]).toMatch(/\n\s+coordinator\s+4 .*p99 (< 20 ms met|≥ 20 ms MISSED)\n/);
    // Whichever it is on this machine, the verdict agrees with the p99 printed beside it.
    expect(checkVerdicts(tables[0]!)).toBe(1);
    const pids = lines.flatMap((l) => /pid (\d+)/.exec(l)?.[1] ?? []).map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 60_000);
});
