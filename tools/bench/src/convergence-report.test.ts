import { describe, expect, it } from "vitest";
import { checkVerdicts } from "./__fixtures__/verdict-check.js";
import { formatConvergenceReport, meetsConvergenceTarget, type ConvergenceScenario } from "./convergence-report.js";
import type { ConvergenceSample } from "./convergence-sample.js";

const sample = (allOpenMs: number, fleetOpenMs = allOpenMs - 2): ConvergenceSample => ({
  allOpenMs,
  firstOpenMs: allOpenMs - 10,
  fleetOpenMs,
  reactionMs: 1,
  lastRequestMs: allOpenMs - 1,
  failedRequests: 15,
  replicas: [
    {
      openMs: allOpenMs - 10,
      source: "local",
      failuresBeforeOpen: 5,
      reactionMs: 1,
      lateSuccesses: 0,
      lastRequestMs: allOpenMs - 11,
      failedRequests: 5,
      afterOwnOpen: 0,
      afterFleetOpen: 0,
    },
    {
      openMs: allOpenMs,
      source: "fleet",
      failuresBeforeOpen: 4,
      reactionMs: NaN,
      lateSuccesses: 2,
      lastRequestMs: allOpenMs - 1,
      failedRequests: 5,
      afterOwnOpen: 0,
      afterFleetOpen: 1,
    },
  ],
});

describe("fleet-convergence report", () => {
  it("judges p99 of every replica refusing (nearest rank) against the target", () => {
    const s: ConvergenceScenario = { name: "even", samples: [sample(80), sample(90), sample(99)], targetP99Ms: 100 };
    expect(meetsConvergenceTarget(s)).toBe(true);
    expect(meetsConvergenceTarget({ ...s, targetP99Ms: 99 })).toBe(false);
    expect(meetsConvergenceTarget({ ...s, samples: [] })).toBeUndefined();
  });

  it("prints met for runs that meet the target and MISSED for runs that miss it, agreeing with the figures", () => {
    const met = formatConvergenceReport("t", [
      { name: "even", samples: [sample(80), sample(90), sample(99)], targetP99Ms: 100 },
    ]);
    expect(met).toMatch(/every replica refusing \(logs\)\s+3\s+90\s+99\s+99\s+99\s+p99 < 100 ms met\n/);
    expect(met).toMatch(/^met {5}even: every replica refusing p50 90 ms, p99 99 ms/m);
    expect(met).not.toContain("MISSED");
    expect(checkVerdicts(met)).toBe(1);
    const missed = formatConvergenceReport("t", [
      { name: "even", samples: [sample(80), sample(90), sample(120)], targetP99Ms: 100 },
    ]);
    expect(missed).toMatch(/^MISSED {2}even: every replica refusing/m);
    expect(checkVerdicts(missed)).toBe(1);
  });

  it("prints percentiles per measure, the verdict, and every run", () => {
    const text = formatConvergenceReport("title", [
      { name: "even", samples: [sample(80), sample(90, NaN), sample(120)], targetP99Ms: 100, floorMs: 80 },
    ]);
    expect(text).toMatch(/^title\n/);
    expect(text).toMatch(
      /even\s+first 503 → every replica refusing \(logs\)\s+3\s+90\s+120\s+120\s+120\s+p99 ≥ 100 ms MISSED\n/,
    );
    // The run where the coordinator did not open counts in none of its percentiles.
    expect(text).toMatch(/\s+first 503 → coordinator OPEN\s+2\s+78\s+118\s+118\s+118\n/);
    expect(text).toMatch(/\s+tripping 503 sent → its replica refusing\s+3\s+1\s+1\s+1\s+1\n/);
    expect(text).toMatch(/\s+coordinator OPEN → every replica refusing\s+2\s+2\s+2\s+2\s+2\n/);
    expect(text).toContain(
      "\nMISSED  even: every replica refusing p50 90 ms, p99 120 ms, max 120 ms (target p99 < 100 ms)\n" +
        "note    even: at this pace a replica's own breaker trips about 80 ms " +
        "after its first failing answer at the earliest",
    );
    expect(text).toMatch(/\n\s+2\s+90\s+80\s+–\s+89\s+80 L \(5\) \/ 90 F \(4 \+2 ok\)\s+15 \(5\/5\)\s+0\/0\s+0\/1\n/);
  });
});
