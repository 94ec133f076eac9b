import { describe, expect, it } from "vitest";
import { checkVerdicts } from "../__fixtures__/verdict-check.js";
import type { BenchSettings } from "../suite.js";
import { createFleetConvergenceSuite } from "./fleet-convergence.js";

// Starts the built apps (apps/*/dist) and dist/s3-server-main.js (run `npx nx run-many -t build` first).
describe("fleet-convergence suite", () => {
  it("measures runs on a coordinator and 3 cache-store processes and leaves no process running", async () => {
    const lines: string[] = [];
    const tables: string[] = [];
    const settings: BenchSettings = {
      seconds: 1,
      warmupSeconds: 0,
      rounds: 1,
      inFlight: 1,
      serverNodeArgs: [],
      log: (l) => lines.push(l),
    };
    const suite = createFleetConvergenceSuite({
      shapes: [{ name: "3 × 50/s", readsPerSecond: [50, 50, 50] }],
      runs: 2,
      warmups: 0,
      printTable: (t) => tables.push(t),
    });
    expect(await suite.run(settings)).toEqual([]);
    expect(tables).toHaveLength(1);
    expect(tables[0]).toMatch(/3 × 50\/s\s+first 503 → every replica refusing \(logs\)\s+2 .*p99 (<|≥) 100 ms/);
    expect(tables[0]).toMatch(/ (p99 < 100 ms met|p99 ≥ 100 ms MISSED)\n/);
    // Whichever it is on this machine, the verdict agrees with the p99 printed beside it.
    expect(checkVerdicts(tables[0]!)).toBe(1);
    expect(lines.filter((l) => /^ {2}run \d+: every replica open/.test(l))).toHaveLength(2);
    const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
    expect(pids).toHaveLength(5); // coordinator, 3 replicas, s3rver
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 90_000);

  it("rejects load shapes it cannot run", () => {
    expect(() => createFleetConvergenceSuite({ shapes: [{ name: "one", readsPerSecond: [50] }] })).toThrow(RangeError);
    expect(() =>
      createFleetConvergenceSuite({
        shapes: [
          { name: "a", readsPerSecond: [50, 50] },
          { name: "b", readsPerSecond: [50, 50, 50] },
        ],
      }),
    ).toThrow(RangeError);
    expect(() => createFleetConvergenceSuite({ runs: 0 })).toThrow(RangeError);
  });
});
