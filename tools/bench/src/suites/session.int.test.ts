import { describe, expect, it } from "vitest";
import { checkVerdicts } from "../__fixtures__/verdict-check.js";
import type { BenchSettings } from "../suite.js";
import { createSessionSuite } from "./session.js";

// Starts the built apps (apps/*/dist) and dist/s3-server-main.js (run `npx nx run-many -t build` first).
describe("session suite", () => {
  it("times detach and admit() around a coordinator kill; verdicts agree with figures; no process left", async () => {
    const lines: string[] = [];
    const tables: string[] = [];
    const log = (l: string): number => lines.push(l);
    const settings: BenchSettings = { seconds: 1, warmupSeconds: 0, rounds: 1, inFlight: 1, serverNodeArgs: [], log };
    const suite = createSessionSuite({
      kills: 1,
      admitCalls: 1_000,
      admitRuns: 2,
      reads: 10,
      printTable: (t) => void tables.push(t),
    });
    expect(await suite.run(settings)).toEqual([]);
    expect(tables).toHaveLength(1);
    const table = tables[0]!;
    expect(table).toMatch(/SIGKILL → every client detached \(detach_after 500 ms\)\s+1\s+ms /);
    expect(table).toMatch(/admit\(\), detached \(runs of 1000\)\s+6\s+ns /);
    expect(table).toMatch(/SIGKILL → replica detached \(detach_after 1 s\)\s+3\s+ms /);
    expect(checkVerdicts(table)).toBe(6);
    const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
    expect(pids).toHaveLength(8); // coordinator twice; then coordinator, 3 replicas, s3rver, gateway
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 90_000);
});
