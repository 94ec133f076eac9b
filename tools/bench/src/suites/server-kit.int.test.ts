import { describe, expect, it } from "vitest";
import { checkVerdicts } from "../__fixtures__/verdict-check.js";
import { formatReport } from "../report.js";
import type { BenchSettings } from "../suite.js";
import { serverKitSuite } from "./server-kit.js";

// Starts the built dist/echo-server.js three times (run `npx tsc -b tools/bench` first).
describe("server-kit suite", () => {
  it("measures every server in both scenarios and leaves no server running", async () => {
    const lines: string[] = [];
    const settings: BenchSettings = {
      seconds: 0.4,
      warmupSeconds: 0,
      rounds: 2,
      inFlight: 8,
      serverNodeArgs: [],
      log: (l) => lines.push(l),
    };
    const comparisons = await serverKitSuite.run(settings);
    expect(comparisons.map((c) => c.scenario)).toEqual(["unary 1 KiB", "stream 16 × 1 KiB"]);
    for (const c of comparisons) {
      expect(c.measurements.map((m) => m.name)).toEqual(["bare", "kit", "mount"]);
      for (const m of c.measurements) {
        expect(m.calls).toBeGreaterThan(0);
        expect(m.roundRates).toHaveLength(2);
        expect(m.serverCpuSeconds).toBeGreaterThan(0);
      }
    }
    // The table main.ts prints: whichever verdicts this machine gives, they agree with the ratios printed.
    expect(checkVerdicts(formatReport("server-kit", comparisons))).toBe(4);
    expect(comparisons[1]!.measurements[0]!.messages).toBe(comparisons[1]!.measurements[0]!.calls * 16);
    const pids = lines.flatMap((l) => /pid (\d+)/.exec(l)?.[1] ?? []).map(Number);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
