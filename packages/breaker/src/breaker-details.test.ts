import { describe, expect, it } from "vitest";
import { machineHarness } from "./__fixtures__/machine-harness.js";
import { describeBreaker } from "./breaker-details.js";

describe("describeBreaker", () => {
  it("describes a closed breaker", () => {
    const h = machineHarness();
    h.machine.record("b", { successes: 3, failures: 1, slowCalls: 1 }, h.now);
    expect(describeBreaker(h.machine, h.now)).toEqual({
      name: "s3:test",
      state: "closed",
      version: 0,
      openUntil: undefined,
      forced: false,
      since: h.now,
      reason: "new breaker",
      window: { successes: 3, failures: 1, slowCalls: 1, failureRate: 0.25, consecutiveFailures: 1 },
      probesInFlight: 0,
      contributingInstances: ["b"],
      locallyOpenInstances: [],
      override: undefined,
      reopenCount: 0,
      halfOpenSuccesses: 0,
    });
  });

  it("describes a half-open breaker with its probes and successes", () => {
    const h = machineHarness({ halfOpenMaxProbes: 2 });
    h.fail(5);
    h.advance(30_000);
    const first = h.machine.acquireProbe("a", h.now);
    if (first.granted) h.machine.completeProbe(first.id, true, h.now);
    h.machine.acquireProbe("b", h.now);
    expect(describeBreaker(h.machine, h.now)).toMatchObject({
      state: "half-open",
      version: 2,
      reason: "open time over; probing",
      probesInFlight: 1,
      halfOpenSuccesses: 1,
      contributingInstances: ["i1"],
      locallyOpenInstances: [],
    });
  });

  it("describes a forced breaker with its override", () => {
    const h = machineHarness();
    h.machine.force("open", { reason: "maintenance", ttlMs: 1_000 }, h.now);
    expect(describeBreaker(h.machine, h.now)).toMatchObject({
      state: "open",
      forced: true,
      openUntil: h.now + 1_000,
      override: { mode: "open", reason: "maintenance", expiresAt: h.now + 1_000 },
    });
  });
});
