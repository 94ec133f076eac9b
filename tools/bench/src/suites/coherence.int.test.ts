import { describe, expect, it } from "vitest";
import type { BenchSettings } from "../suite.js";
import { createCoherenceSuite } from "./coherence.js";
import { checkVerdicts } from "../__fixtures__/verdict-check.js";

// Starts the built apps (apps/*/dist) and dist/s3-server-main.js (run `npx nx run-many -t build` first).
describe("coherence suite", () => {
  it("times writes seen through a second gateway and peers; verdicts agree with figures; no process left", async () => {
    const lines: string[] = [];
    const tables: string[] = [];
    const log = (l: string): number => lines.push(l);
    const settings: BenchSettings = { seconds: 1, warmupSeconds: 0, rounds: 1, inFlight: 1, serverNodeArgs: [], log };
    const suite = createCoherenceSuite({
      nearCacheWrites: 5,
      peerWrites: 4,
      deleteEvery: 2,
      printTable: (t) => void tables.push(t),
    });
    expect(await suite.run(settings)).toEqual([]);
    expect(tables).toHaveLength(1);
    const table = tables[0]!;
    expect(table).toMatch(/write → B serves the new body\s+5\s+ms /);
    expect(table).toMatch(/put → C serves the new body\s+4\s+ms /);
    expect(table).toMatch(/delete → B and C answer 404\s+4\s+ms /);
    // 4 judged measures in the peer scenario, 2 in the near-cache one, p99 and max each.
    expect(checkVerdicts(table)).toBe(12);
    const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
    expect(pids).toHaveLength(7); // s3rver, cache-store and 2 gateways, 3 replicas
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 90_000);
});
