import { describe, expect, it } from "vitest";
import { createStatusCounters } from "./status-counters.js";

describe("status counters", () => {
  it("counts each answer under its status and hands it back", () => {
    const counters = createStatusCounters();
    const answer = { status: "HIT" as const, body: "x" };
    expect(counters.count(answer)).toBe(answer);
    for (const status of ["MISS", "STALE", "STALE", "REVALIDATED", "COALESCED", "BYPASS"] as const)
      counters.count({ status });
    expect(counters.snapshot()).toEqual({
      hits: 1,
      misses: 1,
      staleServed: 2,
      revalidations: 1,
      coalesced: 1,
      bypassed: 1,
    });
  });

  it("snapshots are copies", () => {
    const counters = createStatusCounters();
    const before = counters.snapshot();
    counters.count({ status: "HIT" });
    expect(before.hits).toBe(0);
  });
});
