import { describe, expect, it } from "vitest";
import { checkVerdicts } from "./__fixtures__/verdict-check.js";
import { formatLatencyReport, judgeLatency, statOf, type LatencyScenario } from "./latency-report.js";

const ms = (...values: number[]): number[] => values;
const scenario = (worst: number): LatencyScenario => ({
  name: "near-cache",
  measures: [
    { name: "floor", unit: "ms", values: ms(1, 2, 3, 4) },
    {
      name: "B serves",
      unit: "ms",
      values: ms(2, 4, 6, worst),
      baseline: "floor",
      targets: [
        { stat: "p99", op: "<", limit: 100 },
        { stat: "max", op: "<", limit: 100 },
      ],
    },
  ],
});

describe("latency report", () => {
  it("takes p50 and p99 by nearest rank, and max", () => {
    expect(statOf([4, 1, 3, 2], "p50")).toBe(2);
    expect(statOf([4, 1, 3, 2], "p99")).toBe(4);
    expect(statOf([4, 1, 3, 2], "max")).toBe(4);
    expect(statOf([], "max")).toBeNaN();
  });

  it("judges < and ≤ targets; a measure without values misses", () => {
    const m = { name: "x", unit: "ms" as const, values: [5, 10] };
    expect(judgeLatency(m, { stat: "max", op: "<", limit: 10 })).toEqual({ value: 10, met: false });
    expect(judgeLatency(m, { stat: "max", op: "≤", limit: 10 })).toEqual({ value: 10, met: true });
    expect(judgeLatency({ ...m, values: [] }, { stat: "p50", op: "<", limit: 10 }).met).toBe(false);
  });

  it("prints met for a sample that meets its targets, with ratios to the baseline measure", () => {
    const text = formatLatencyReport("title", [scenario(99)]);
    const header = ["scenario", "measure", "n", "unit", "p50", "p90", "p99", "max", "p50 ×base", "p99 ×base"];
    expect(text).toMatch(new RegExp(`^title\\n\\n${header.join("\\s+")}\\s+target\\n`));
    expect(text).toMatch(/near-cache\s+floor\s+4\s+ms\s+2\.0\s+4\.0\s+4\.0\s+4\.0\n/);
    expect(text).toMatch(
      /\s+B serves\s+4\s+ms\s+4\.0\s+99\.0\s+99\.0\s+99\.0\s+2\.00×\s+24\.75×\s+p99 < 100\.0 ms met/,
    );
    expect(text).toMatch(/, max < 100\.0 ms met\n/);
    expect(text).toContain(
      "met     near-cache: B serves max 99.0 ms (target max < 100.0 ms; p50 4.0, p99 99.0, max 99.0 ms;",
    );
    expect(text).not.toContain("MISSED");
    expect(checkVerdicts(text)).toBe(2);
  });

  it("prints MISSED for a sample that misses, and relative limits with their basis", () => {
    const text = formatLatencyReport("title", [scenario(150)]);
    expect(text).toMatch(/B serves .*p99 ≥ 100\.0 ms MISSED, max ≥ 100\.0 ms MISSED\n/);
    expect(text).toContain("MISSED  near-cache: B serves p99 150.0 ms (target p99 < 100.0 ms;");
    expect(checkVerdicts(text)).toBe(2);
    const relative = formatLatencyReport("t", [
      {
        name: "gateway",
        measures: [
          { name: "attached", unit: "ms", values: [1, 1, 1] },
          {
            name: "cut off",
            unit: "ms",
            values: [3, 3, 3],
            baseline: "attached",
            targets: [{ stat: "p50", op: "≤", limit: 2, basis: "2 × attached p50" }],
          },
          { name: "admit()", unit: "ns", values: [900, 1200, 950], targets: [{ stat: "p50", op: "<", limit: 1000 }] },
        ],
      },
    ]);
    expect(relative).toMatch(/cut off\s+3\s+ms\s+3\.0.*3\.00×\s+3\.00×\s+p50 > 2\.0 ms MISSED\n/);
    expect(relative).toContain("MISSED  gateway: cut off p50 3.0 ms (target p50 ≤ 2.0 ms, 2 × attached p50;");
    expect(relative).toMatch(/admit\(\)\s+3\s+ns\s+950\s+1200\s+1200\s+1200\s+p50 < 1000 ns met\n/);
    expect(checkVerdicts(relative)).toBe(2);
  });

  it("refuses a baseline that is not among the scenario's measures", () => {
    const orphan = { name: "m", unit: "ms" as const, values: [1], baseline: "none" };
    expect(() => formatLatencyReport("t", [{ name: "s", measures: [orphan] }])).toThrow(/no measure named none/);
  });
});
