import { describe, expect, it } from "vitest";
import { createBreakerConfig, defaultBreakerConfig } from "./config.js";

describe("defaultBreakerConfig", () => {
  it("holds design.md's defaults and is frozen", () => {
    expect(defaultBreakerConfig).toMatchObject({
      windowMs: 60_000,
      minimumRequests: 10,
      failureRateThreshold: 0.5,
      consecutiveFailures: 5,
      slowCallMs: undefined,
      openTimeoutMs: 30_000,
      maxOpenTimeoutMs: 300_000,
      openJitter: 0.1,
      halfOpenMaxProbes: 1,
      probeLeaseMs: 5_000,
      successThreshold: 3,
      quorumInstances: 2,
      detachAfterMs: 2_000,
      heartbeatIntervalMs: 1_000,
    });
    expect(Object.isFrozen(defaultBreakerConfig)).toBe(true);
  });
});

describe("createBreakerConfig", () => {
  it("lays options over the defaults and freezes the result", () => {
    const config = createBreakerConfig({ minimumRequests: 3, slowCallMs: 250 });
    expect(config.minimumRequests).toBe(3);
    expect(config.slowCallMs).toBe(250);
    expect(config.openTimeoutMs).toBe(30_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("rejects bad options with a RangeError naming each value", () => {
    expect(() => createBreakerConfig({ failureRateThreshold: 2 })).toThrow(
      new RangeError("invalid breaker options: failureRateThreshold must be between 0 and 1, got 2"),
    );
    expect(() => createBreakerConfig({ minimumRequests: 1.5, openJitter: 1 })).toThrow(
      /minimumRequests must be an integer ≥ 1, got 1.5; openJitter must be ≥ 0 and < 1, got 1/,
    );
    expect(() => createBreakerConfig({ quorumFraction: 0 })).toThrow(/quorumFraction must be greater than 0, got 0/);
  });

  it("rejects options that contradict each other", () => {
    expect(() => createBreakerConfig({ openTimeoutMs: 60_000, maxOpenTimeoutMs: 10_000 })).toThrow(
      /maxOpenTimeoutMs must be ≥ open timeout \(60000 ms\), got 10000 ms/,
    );
    expect(() => createBreakerConfig({ detachAfterMs: 500 })).toThrow(
      /detachAfterMs must be longer than the heartbeat interval/,
    );
  });

  it("rejects unknown options and non-numbers", () => {
    expect(() => createBreakerConfig({ nope: 1 } as never)).toThrow(/nope unknown setting/);
    expect(() => createBreakerConfig({ windowMs: "60s" } as never)).toThrow(/windowMs must be a number, got "60s"/);
  });
});
