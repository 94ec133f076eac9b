import { describe, expect, it } from "vitest";
import { checkVerdicts } from "./__fixtures__/verdict-check.js";
import { formatFanOutReport, meetsLatencyTarget, percentile, type FanOutComparison } from "./fan-out-report.js";

const samples = (openAll: number[]) => openAll.map((ms) => ({ openAll: ms, openFirst: ms / 2, closeAll: ms * 2 }));

describe("fan-out report", () => {
  it("takes percentiles by nearest rank", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100…1, unsorted on purpose
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile([3, 1, 2], 0.99)).toBe(3);
    expect(percentile([7], 0.5)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it("judges p99 of the fan-out to every session against the target, never the baseline", () => {
    const c: FanOutComparison = {
      sessions: 50,
      baseline: "bare",
      targetP99Ms: 20,
      measurements: [
        { name: "bare", samples: samples([1, 2, 3]) },
        { name: "coordinator", samples: samples([2, 4, 19]) },
      ],
    };
    expect(meetsLatencyTarget(c, c.measurements[0]!)).toBeUndefined();
    expect(meetsLatencyTarget(c, c.measurements[1]!)).toBe(true);
    expect(meetsLatencyTarget({ ...c, targetP99Ms: 19 }, c.measurements[1]!)).toBe(false);

    const text = formatFanOutReport("title", c);
    expect(text).toMatch(/^title\n/);
    expect(text).toMatch(/trip → OPEN at all 50\s+bare \(base\)\s+3\s+2\.00\s+3\.00\s+3\.00\s+3\.00\n/);
    expect(text).toMatch(/\s+coordinator\s+3\s+4\.00\s+19\.00\s+19\.00\s+19\.00\s+2\.00×\s+6\.33×\s+p99 < 20 ms met/);
    expect(text).toMatch(/ResetBreaker → CLOSED at all 50\s+bare \(base\)\s+3\s+4\.00/);
    expect(text).toMatch(
      /\nmet {5}coordinator: trip → OPEN at all 50 sessions p99 19\.00 ms, max 19\.00 ms \(target p99 < 20 ms\)$/,
    );
    expect(text).not.toContain("MISSED");
    expect(checkVerdicts(text)).toBe(1);

    const missed = formatFanOutReport("title", { ...c, targetP99Ms: 19 });
    expect(missed).toMatch(
      /\s+coordinator\s+3\s+4\.00\s+19\.00\s+19\.00\s+19\.00\s+2\.00×\s+6\.33×\s+p99 ≥ 19 ms MISSED\n/,
    );
    expect(missed).toMatch(
      /\nMISSED {2}coordinator: trip → OPEN at all 50 sessions p99 19\.00 ms, max 19\.00 ms \(target p99 < 19 ms\)$/,
    );
    expect(checkVerdicts(missed)).toBe(1);
  });
});
