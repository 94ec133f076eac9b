import { describe, expect, it } from "vitest";
import { checkVerdicts } from "./__fixtures__/verdict-check.js";
import {
  formatReport,
  meetsTarget,
  ratioRange,
  serverMicrosPerCall,
  throughputRatio,
  type Comparison,
  type Measurement,
} from "./report.js";

function measurement(name: string, calls: number, roundRates: number[], serverCpuSeconds?: number): Measurement {
  return {
    name,
    calls,
    messages: calls * 2,
    seconds: 2,
    clientCpuSeconds: 1,
    serverCpuSeconds,
    otherCpuSeconds: 0.1,
    roundRates,
  };
}

const bare = measurement("bare", 2000, [900, 1100], 1);
const kit = measurement("kit", 1500, [900, 550], 1.2);
const comparison: Comparison = { scenario: "unary 1 KiB", baseline: "bare", target: 0.8, measurements: [bare, kit] };

describe("report", () => {
  it("divides by the baseline measured in the same run", () => {
    expect(throughputRatio(kit, bare)).toBeCloseTo(0.75);
    expect(ratioRange(kit, bare)).toEqual([0.5, 1]);
    expect(serverMicrosPerCall(kit)).toBeCloseTo(800);
    expect(serverMicrosPerCall(measurement("x", 10, [5]))).toBeUndefined();
  });

  it("judges the target for every side but the baseline", () => {
    expect(meetsTarget(comparison, bare)).toBeUndefined();
    expect(meetsTarget(comparison, kit)).toBe(false);
    expect(meetsTarget({ ...comparison, target: 0.7 }, kit)).toBe(true);
    expect(meetsTarget({ ...comparison, target: undefined }, kit)).toBeUndefined();
  });

  it("prints one row per side, the verdicts, and notes when the load generator or other load may skew it", () => {
    const text = formatReport("title", [comparison]);
    expect(text).toMatch(/^title\n/);
    expect(text).toMatch(/unary 1 KiB\s+bare \(base\)\s+1,000\s+2,000\s+1\.00×/);
    expect(text).toMatch(
      /kit\s+750\s+1,500\s+0\.75×\s+0\.50–1\.00\s+60%\s+800\.0\s+1\.60×\s+50%\s+5%\s+< 0\.80× MISSED/,
    );
    expect(text).toContain("MISSED  unary 1 KiB: kit 0.75× of bare (target ≥ 0.80×)");
    expect(text).not.toContain("note");
    const busy = formatReport("t", [{ ...comparison, measurements: [bare, { ...kit, clientCpuSeconds: 1.9 }] }]);
    expect(busy).toContain("note    unary 1 KiB: the load generator used");
    const shared = formatReport("t", [{ ...comparison, measurements: [bare, { ...kit, otherCpuSeconds: 1 }] }]);
    expect(shared).toContain("note    unary 1 KiB: other processes used");
  });

  it("prints met for a sample that meets its target and MISSED for one that misses, agreeing with the figures", () => {
    const met = formatReport("t", [{ ...comparison, target: 0.7 }]);
    expect(met).toMatch(/kit .* ≥ 0\.70× met$/m);
    expect(met).toContain("met     unary 1 KiB: kit 0.75× of bare (target ≥ 0.70×)");
    expect(met).not.toContain("MISSED");
    expect(checkVerdicts(met)).toBe(1);
    const missed = formatReport("t", [comparison]);
    expect(missed).toMatch(/^MISSED {2}unary 1 KiB: kit 0\.75× of bare/m);
    expect(checkVerdicts(missed)).toBe(1);
  });

  it("refuses a comparison without its baseline", () => {
    expect(() => formatReport("t", [{ ...comparison, baseline: "none" }])).toThrow(/no measurement named none/);
  });
});
