import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BenchSettings } from "../suite.js";
import { tracingSuite } from "./tracing.js";

// Starts the built apps (apps/*/dist) and Debian's wrk, which CI does not install: skipped without it.
const wrkInstalled = existsSync("/usr/bin/wrk");

describe("tracing suite", () => {
  it.skipIf(!wrkInstalled)(
    "measures the three gateways, the traced one exporting spans; no process left",
    async () => {
      const lines: string[] = [];
      const log = (l: string): number => lines.push(l);
      const settings: BenchSettings = { seconds: 1, warmupSeconds: 0, rounds: 1, inFlight: 4, serverNodeArgs: [], log };
      expect(await tracingSuite.run(settings)).toEqual([]); // it prints its own table
      const exported = lines.map((l) => /"on" exported (\d+) OTLP requests/.exec(l)).find((m) => m !== null);
      expect(Number(exported?.[1])).toBeGreaterThan(0);
      const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
      expect(pids).toHaveLength(4); // a cache-store and three gateways
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    },
    90_000,
  );
});
