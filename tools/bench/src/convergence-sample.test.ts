import { describe, expect, it } from "vitest";
import { convergenceSample, type ObservedRequest } from "./convergence-sample.js";

const req = (
  at: number,
  replica: number,
  status: number | undefined,
  answeredAt = status === undefined ? undefined : at + 1,
): ObservedRequest => ({ at, replica, status, answeredAt });

describe("one fleet-convergence run", () => {
  it("measures from the first 503 answer to each replica's opening, counts the requests that met the failure", () => {
    const sample = convergenceSample({
      requests: [
        req(998, 2, 404, 1_004), // reached S3 before the switch, answered late: not a failure
        req(1_000, 0, 503, 1_002), // first failing answer at 1 002 (t0)
        req(1_001, 1, 503, 1_001), // answered first: t0 is 1 001
        req(1_010, 0, 503),
        req(1_020, 1, 503),
        req(1_030, 0, 503), // replica 0 opens at 1 031
        req(1_040, 1, 503), // after the coordinator's OPEN (1 035)
        req(1_050, 1, 503), // after replica 1's opening (1 045)
        req(1_060, -1, 503), // from nobody known
      ],
      openings: [
        { at: 1_031, source: "local", reason: "5 consecutive failures" },
        { at: 1_045, source: "local", reason: "5 consecutive failures" },
        { at: 1_036, source: "fleet", reason: "7 consecutive failures (2 of 3 instances failing)" },
      ],
      fleetOpenAt: 1_035,
      consecutiveFailures: 3,
    });
    expect(sample).toEqual({
      allOpenMs: 44,
      firstOpenMs: 30,
      fleetOpenMs: 34,
      reactionMs: 4,
      lastRequestMs: 49,
      failedRequests: 8,
      replicas: [
        {
          openMs: 30,
          source: "local",
          failuresBeforeOpen: 3,
          reactionMs: 0,
          lateSuccesses: 0,
          lastRequestMs: 29,
          failedRequests: 3,
          afterOwnOpen: 0,
          afterFleetOpen: 0,
        },
        {
          openMs: 44,
          source: "local",
          failuresBeforeOpen: 3,
          reactionMs: 4,
          lateSuccesses: 0,
          lastRequestMs: 49,
          failedRequests: 4,
          afterOwnOpen: 1,
          afterFleetOpen: 2,
        },
        {
          openMs: 35,
          source: "fleet",
          failuresBeforeOpen: 0,
          reactionMs: NaN,
          lateSuccesses: 1,
          lastRequestMs: 0,
          failedRequests: 0,
          afterOwnOpen: 0,
          afterFleetOpen: 0,
        },
      ],
    });
  });

  it("leaves the coordinator's figures out when its breaker did not open", () => {
    const sample = convergenceSample({
      requests: [req(0, 0, 503), req(5, 1, 503)],
      openings: [
        { at: 10, source: "local", reason: "" },
        { at: 12, source: "local", reason: "" },
      ],
      fleetOpenAt: undefined,
      consecutiveFailures: 5,
    });
    expect(sample.fleetOpenMs).toBeNaN();
    expect(sample.reactionMs).toBeNaN(); // one failure each: no replica's own breaker tripped on the 5th
    expect(sample.replicas.map((r) => r.afterFleetOpen)).toEqual([NaN, NaN]);
    expect(sample.allOpenMs).toBe(11);
  });

  it("refuses a run in which nothing failed", () => {
    expect(() =>
      convergenceSample({
        requests: [req(0, 0, 404)],
        openings: [{ at: 1, source: "local", reason: "" }],
        fleetOpenAt: undefined,
        consecutiveFailures: 5,
      }),
    ).toThrow(/no storage request was answered 503/);
  });
});
