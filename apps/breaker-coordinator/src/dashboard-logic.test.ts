import { describe, expect, it } from "vitest";
import { FleetModel } from "../dashboard/fleet-model.js";
import { duration, enumName, parseTtl, timeUntil } from "../dashboard/format.js";
import { retryDelayMs } from "../dashboard/retry-delay.js";

/** The live fleet page's logic that needs no browser: what it keeps, how it reads times, how it backs off. */
describe("fleet page model", () => {
  const breaker = (version: string, state: string, reason = "") => ({ name: "s3:x", version, state, reason });
  const transition = (version: string, state: string, from: string) => ({
    breaker: { name: "s3:x", version, state },
    from,
    reason: "threshold",
    at: "2026-01-01T00:00:00Z",
  });

  it("shows a transition at once, and keeps it over an older list read before it", () => {
    const model = new FleetModel();
    model.setBreakers([breaker("1", "BREAKER_STATE_CLOSED")]);
    model.applyTransition(transition("2", "BREAKER_STATE_OPEN", "BREAKER_STATE_CLOSED"));
    expect(model.breakers.get("s3:x")).toMatchObject({ state: "BREAKER_STATE_OPEN", reason: "threshold" });
    model.setBreakers([breaker("1", "BREAKER_STATE_CLOSED")]);
    expect(model.breakers.get("s3:x")?.state).toBe("BREAKER_STATE_OPEN");
    model.putBreaker(breaker("1", "BREAKER_STATE_CLOSED"));
    expect(model.breakers.get("s3:x")?.state).toBe("BREAKER_STATE_OPEN");
    model.putBreaker(breaker("3", "BREAKER_STATE_CLOSED", "reset"));
    expect(model.breakers.get("s3:x")).toMatchObject({ state: "BREAKER_STATE_CLOSED", reason: "reset" });
  });

  it("compares versions as uint64, not as strings", () => {
    const model = new FleetModel();
    model.putBreaker(breaker("10", "BREAKER_STATE_OPEN"));
    model.putBreaker(breaker("9", "BREAKER_STATE_CLOSED"));
    expect(model.breakers.get("s3:x")?.state).toBe("BREAKER_STATE_OPEN");
  });

  it("keeps the 50 newest transitions, newest first", () => {
    const model = new FleetModel();
    for (let v = 1; v <= 60; v++) model.applyTransition(transition(String(v), "BREAKER_STATE_OPEN", ""));
    expect(model.timeline).toHaveLength(50);
    expect(model.timeline[0]?.breaker.version).toBe("60");
  });

  it("tells a part's views only when that part changed", () => {
    const model = new FleetModel();
    const told = { breakers: 0, instances: 0 };
    model.subscribe("breakers", () => told.breakers++);
    model.subscribe("instances", () => told.instances++);
    model.setInstances([{ instanceId: "i1" }]);
    model.setInstances([{ instanceId: "i1" }]);
    model.setBreakers([breaker("1", "BREAKER_STATE_CLOSED")]);
    model.setBreakers([breaker("1", "BREAKER_STATE_CLOSED")]);
    expect(told).toEqual({ breakers: 1, instances: 1 });
  });
});

describe("fleet page formats", () => {
  it("reads TTLs as protobuf JSON durations and refuses the rest", () => {
    expect(parseTtl("")).toBeUndefined();
    expect(parseTtl("30")).toBe("30s");
    expect(parseTtl("10m")).toBe("600s");
    expect(parseTtl(" 1h ")).toBe("3600s");
    expect(() => parseTtl("soon")).toThrow(/ttl must look like 30s, 5m or 1h/);
  });

  it("names enums without their prefix, and durations in the two largest units", () => {
    expect(enumName("BREAKER_STATE_HALF_OPEN", "BREAKER_STATE_")).toBe("HALF_OPEN");
    expect(enumName(undefined, "BREAKER_STATE_")).toBe("UNSPECIFIED");
    expect(duration(12_400)).toBe("12s");
    expect(duration(298_000)).toBe("4m 58s");
    expect(duration(7_500_000)).toBe("2h 5m");
    expect(timeUntil("1970-01-01T00:00:01Z", 5_000)).toMatch(/\(lapsed\)$/);
    expect(timeUntil("1970-01-01T00:01:00Z", 0)).toMatch(/\(in 1m 0s\)$/);
  });
});

describe("fleet page reconnect delay", () => {
  it("doubles from 250 ms to at most 10 s, half of it random", () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect([1, 2, 3, 6, 7, 20].map((n) => retryDelayMs(n, low))).toEqual([125, 250, 500, 4000, 5000, 5000]);
    expect([1, 2, 7, 20].map((n) => retryDelayMs(n, high))).toEqual([250, 500, 10000, 10000]);
  });
});
