import { describe, expect, it } from "vitest";
import { checkVerdicts } from "./__fixtures__/verdict-check.js";
import { formatMedianReport, judge, median, roundRatios, type MedianComparison } from "./median-report.js";
import type { RoundSample } from "./wrk-rounds.js";

/** A 1-second round at `rps` with the given CPU seconds. */
const round = (rps: number, cpu: { server?: number; wrk?: number; machine?: number } = {}): RoundSample => ({
  requests: rps,
  seconds: 1,
  requestsPerSecond: rps,
  bytesRead: rps * 1200,
  p50Ms: 1,
  p99Ms: 4,
  socketErrors: 0,
  wallSeconds: 1,
  serverCpuSeconds: cpu.server,
  wrkCpuSeconds: cpu.wrk,
  machineBusySeconds: cpu.machine,
});

const comparison: MedianComparison = {
  scenario: "GET hit 1 KiB",
  sides: [
    { name: "nginx", samples: [round(60_000), round(70_000), round(10_000)] },
    { name: "bare", samples: [round(50_000), round(40_000), round(45_000)] },
    {
      name: "gateway",
      samples: [round(33_000, { server: 0.66, wrk: 0.3, machine: 1.5 }), round(32_000), round(5_000)],
    },
  ],
  targets: [
    { side: "gateway", baseline: "nginx", atLeast: 0.5 },
    { side: "gateway", baseline: "bare", atLeast: 0.7 },
  ],
};

describe("median report", () => {
  it("takes medians, the mean of the middle two for an even count", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("judges the ratio of medians and gives the per-round ratios' range", () => {
    // gateway median 32k; nginx median 60k; bare median 45k.
    const ofNginx = judge(comparison, comparison.targets[0]!)!;
    expect(ofNginx.ratio).toBeCloseTo(32 / 60, 9);
    expect(ofNginx.met).toBe(true);
    expect(ofNginx.range[0]).toBeCloseTo(32 / 70, 9);
    expect(ofNginx.range[1]).toBeCloseTo(0.55, 9);
    const ofBare = judge(comparison, comparison.targets[1]!)!;
    expect(ofBare.ratio).toBeCloseTo(32 / 45, 9);
    expect(ofBare.met).toBe(true);
    expect(judge({ ...comparison, targets: [] }, { side: "gateway", baseline: "varnish", atLeast: 1 })).toBeUndefined();
    expect(roundRatios(comparison.sides[2]!, comparison.sides[1]!)).toEqual([0.66, 0.8, 5_000 / 45_000]);
  });

  it("prints one row per server with a ratio column per baseline, verdicts and notes", () => {
    const text = formatMedianReport("title", [comparison], 1);
    expect(text).toMatch(/^title\n\nscenario\s+server\s+req\/s\s+×nginx\s+×bare\s+p50 ms/);
    expect(text).toMatch(/GET hit 1 KiB\s+nginx\s+60,000\s+1\.00×\s+1\.33×/);
    expect(text).toMatch(
      new RegExp(
        String.raw`\n\s+gateway\s+32,000\s+0\.53×\s+0\.71×\s+1\.00\s+4\.00\s+66%\s+20\.0\s+30%\s+54%\s+` +
          String.raw`≥ 0\.50× nginx met, ≥ 0\.70× bare met\n`,
      ),
    );
    expect(text).toMatch(
      /\nmet {5}GET hit 1 KiB: gateway 0\.53× of nginx \(median req\/s; rounds 0\.46–0\.55; target ≥ 0\.50×\)/,
    );
    expect(text).toMatch(
      /\nmet {5}GET hit 1 KiB: gateway 0\.71× of bare \(median req\/s; rounds 0\.11–0\.80; target ≥ 0\.70×\)/,
    );
    expect(text).toMatch(/note {4}GET hit 1 KiB: other processes used ≥ 25% of a core/);
    expect(text).not.toMatch(/wrk used/);
    expect(checkVerdicts(text)).toBe(2);
  });

  it("says MISSED and flags a saturated wrk", () => {
    const slow: MedianComparison = {
      ...comparison,
      sides: [
        comparison.sides[0]!,
        comparison.sides[1]!,
        { name: "gateway", samples: [round(20_000, { server: 0.5, wrk: 0.95, machine: 1.45 })] },
      ],
    };
    const text = formatMedianReport("title", [slow], 1);
    expect(text).toMatch(/< 0\.50× nginx MISSED, < 0\.70× bare MISSED/);
    expect(text).toMatch(/\nMISSED {2}GET hit 1 KiB: gateway 0\.33× of nginx/);
    expect(text).toMatch(/note {4}GET hit 1 KiB: wrk used ≥ 90% of its core/);
    expect(checkVerdicts(text)).toBe(2);
  });
});
