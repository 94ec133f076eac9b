import { describe, expect, it } from "vitest";
import type { BenchSettings } from "../suite.js";
import { tlsSuite } from "./tls.js";

// Starts the built apps (apps/*/dist); certificates are made with /usr/bin/openssl.
describe("tls suite", () => {
  it("measures hits plaintext and under mTLS on both paths; no process left", async () => {
    const lines: string[] = [];
    const log = (l: string): number => lines.push(l);
    const settings: BenchSettings = { seconds: 0.4, warmupSeconds: 0, rounds: 1, inFlight: 4, serverNodeArgs: [], log };
    const comparisons = await tlsSuite.run(settings);
    expect(comparisons.map((c) => c.scenario)).toEqual([
      "GetObject hit 1 KiB",
      "gateway GET hit 1 KiB",
      "GetObject hit 64 KiB",
      "gateway GET hit 64 KiB",
    ]);
    for (const c of comparisons) {
      expect(c.measurements.map((m) => m.name)).toEqual(["plain", "mtls"]);
      for (const m of c.measurements) expect(m.calls).toBeGreaterThan(0);
    }
    const pids = lines.flatMap((l) => [...l.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])));
    expect(pids).toHaveLength(4); // a cache-store and a gateway, plaintext and mTLS
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 90_000);
});
