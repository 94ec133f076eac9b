import { describe, expect, it } from "vitest";
import type { BenchSettings } from "../suite.js";
import { missedTargets } from "../verdicts.js";
import { createFleetSuite, formatFleetReport, type FleetScenario } from "./fleet.js";

describe("fleet report", () => {
  it("judges each target on its scenario's figures", () => {
    const s = (name: string, hitRatio: number, s3Gets: number): FleetScenario => ({
      name,
      hitRatio,
      s3Gets,
      objects: 10,
      readsPerSecond: 100,
    });
    const text = formatFleetReport(
      "t",
      [s("a", 0.95, 10), s("b", 0.5, 15)],
      [
        { scenario: "a", measure: "hit ratio", limit: 0.9 },
        { scenario: "b", measure: "hit ratio", limit: 0.9 },
        { scenario: "a", measure: "S3 GETs per object", limit: 1 },
        { scenario: "b", measure: "S3 GETs per object", limit: 1 },
      ],
    );
    expect(missedTargets(text)).toEqual([
      "b: hit ratio 0.500 (target ≥ 0.9)",
      "b: S3 GETs per object 1.50 (target ≤ 1)",
    ]);
    expect(text).toMatch(/^met\s+a: hit ratio 0\.950/m);
  });
});

// Starts the built apps (apps/*/dist) and dist/s3-server-main.js (run `npx nx run-many -t build` first).
describe("fleet suite", () => {
  it("measures 1 and 3 replicas on a tiny working set, prints the table and verdicts; no process left", async () => {
    const lines: string[] = [];
    const tables: string[] = [];
    const log = (l: string): number => lines.push(l);
    const settings: BenchSettings = { seconds: 1, warmupSeconds: 0, rounds: 1, inFlight: 1, serverNodeArgs: [], log };
    // 10 objects of 16 KiB over 64 KiB per replica.
    const suite = createFleetSuite({
      replicaBytes: 64 * 1024,
      objectBytes: 16 * 1024,
      passes: 1,
      printTable: (t) => void tables.push(t),
    });
    expect(await suite.run(settings)).toEqual([]);
    expect(tables).toHaveLength(1);
    const table = tables[0]!;
    expect(table).toMatch(/^1 replica\s/m);
    expect(table).toMatch(/^3 replicas, round robin, forwarding\s/m);
    expect(table).toMatch(/^3 replicas, round robin, no owners\s/m);
    expect(table).toMatch(/^3 replicas, owner routing\s+\d\.\d{3}\s+\d+\s+\d\.\d{2}\s/m);
    // Two verdicts, judged on the figures printed (how they are judged: the report test above).
    expect(table.split("\n").filter((l) => /^(met|MISSED)\s/.test(l))).toHaveLength(2);
    const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
    expect(pids).toHaveLength(1 + 1 + (1 + 1) + 3 * (3 + 1)); // s3rver, seeder, 1 replica + gateway, 3 × (3 + gateway)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 90_000);
});
