import { describe, expect, it } from "vitest";
import { createBreakerConfig } from "./config.js";
import { type TripCounts, tripReason, trips } from "./trip.js";

const counts = (successes: number, failures: number, consecutiveFailures = 0, slowCalls = 0): TripCounts => ({
  successes,
  failures,
  consecutiveFailures,
  slowCalls,
});
const config = createBreakerConfig();

describe("trip rules", () => {
  it("need minimum_requests calls before a rate can trip", () => {
    expect(trips(counts(0, 4, 4), config)).toBe(false);
    expect(trips(counts(4, 5, 1), config)).toBe(false); // 9 calls
    expect(trips(counts(5, 5, 1), config)).toBe(true); // 10 calls, rate 0.5
  });

  it("trip at a failure rate at or above the threshold, not below", () => {
    expect(trips(counts(6, 4, 1), config)).toBe(false);
    expect(tripReason(counts(5, 8, 1), config)).toBe("failure rate 0.62 ≥ 0.5 over 13 calls");
  });

  it("trip on a run of consecutive failures whatever the rate or count", () => {
    expect(trips(counts(0, 4, 4), config)).toBe(false);
    expect(tripReason(counts(0, 5, 5), config)).toBe("5 consecutive failures");
    expect(tripReason(counts(100, 5, 5), config)).toBe("5 consecutive failures");
  });

  it("leave slow calls alone unless slow_call_ms is set", () => {
    expect(trips(counts(10, 0, 0, 10), config)).toBe(false);
    const slow = createBreakerConfig({ slowCallMs: 1_000, slowCallRateThreshold: 0.6 });
    expect(trips(counts(10, 0, 0, 5), slow)).toBe(false);
    expect(tripReason(counts(10, 0, 0, 6), slow)).toBe("slow-call rate 0.6 ≥ 0.6 over 10 calls (slow: ≥ 1000 ms)");
    expect(trips(counts(5, 0, 0, 5), slow)).toBe(false); // under minimum_requests
  });

  it("give no reason when nothing trips", () => {
    expect(tripReason(counts(0, 0), config)).toBeUndefined();
  });
});
