import { describe, expect, it } from "vitest";
import type { BreakerTransition, BreakerView } from "./breaker-state.js";
import { type BreakerConfig, createBreakerConfig } from "./config.js";
import { LocalBreaker } from "./local-breaker.js";

function local(options: Partial<BreakerConfig> = {}, events: BreakerTransition[] = []): LocalBreaker {
  const onTransition = (t: BreakerTransition): void => {
    events.push(t);
  };
  return new LocalBreaker({ name: "s3:x", config: createBreakerConfig(options), random: () => 0.5, onTransition }, 0);
}

const fleet = (state: BreakerView["state"], version: number, openUntil?: number): BreakerView => ({
  name: "s3:x",
  state,
  version,
  openUntil,
  forced: false,
});

function failTimes(b: LocalBreaker, n: number, now: number): void {
  for (let i = 0; i < n; i++) b.record(false, 10, now);
}

describe("LocalBreaker on its own", () => {
  it("admits while closed and opens with the machine's semantics", () => {
    const events: BreakerTransition[] = [];
    const b = local({}, events);
    expect(b.admit(0)).toBe(true);
    failTimes(b, 5, 0);
    expect(b.locallyOpen).toBe(true);
    expect(b.admit(1)).toBe(false);
    expect(b.retryAfterMs(1)).toBe(29_999);
    expect(events.map((e) => e.to)).toEqual(["open"]);
  });

  it("counts calls at or over slow_call_ms as slow", () => {
    const b = local({ slowCallMs: 100, slowCallRateThreshold: 0.5 });
    for (let i = 0; i < 5; i++) b.record(true, 99, 0);
    for (let i = 0; i < 5; i++) b.record(true, 100, 0);
    expect(b.state(0)).toBe("open");
  });

  it("half-open: admits one probe at a time, closes after success_threshold successes", () => {
    const b = local();
    failTimes(b, 5, 0);
    expect(b.admit(30_000)).toBe(true); // the probe
    expect(b.admit(30_000)).toBe(false); // one in flight
    b.record(true, 10, 30_001);
    expect(b.state(30_001)).toBe("half-open");
    for (let i = 0; i < 2; i++) {
      expect(b.admit(30_002)).toBe(true);
      b.record(true, 10, 30_002);
    }
    expect(b.state(30_002)).toBe("closed");
    expect(b.locallyOpen).toBe(false);
  });

  it("half-open: a failed probe re-opens with a doubled open time", () => {
    const b = local();
    failTimes(b, 5, 0);
    expect(b.admit(30_000)).toBe(true);
    b.record(false, 10, 30_000);
    expect(b.state(30_000)).toBe("open");
    expect(b.retryAfterMs(30_000)).toBe(60_000);
  });

  it("half-open: a probe whose caller never records lapses, and another is admitted", () => {
    const b = local();
    failTimes(b, 5, 0);
    expect(b.admit(30_000)).toBe(true);
    expect(b.admit(34_999)).toBe(false);
    expect(b.admit(35_000)).toBe(true);
  });
});

describe("LocalBreaker with the fleet's view", () => {
  it("refuses while the fleet is open even if the instance saw no failure", () => {
    const b = local();
    expect(b.setFleetView(fleet("open", 3, 10_000))).toBe(true);
    expect(b.admit(0)).toBe(false);
    expect(b.retryAfterMs(0)).toBe(10_000);
    expect(b.locallyOpen).toBe(false);
  });

  it("stays stricter than a closed fleet when its own calls fail (local protection)", () => {
    const b = local();
    b.setFleetView(fleet("closed", 1));
    failTimes(b, 5, 0);
    expect(b.state(0)).toBe("open");
    expect(b.admit(0)).toBe(false);
  });

  it("leaves half-open probes to the coordinator while attached", () => {
    const b = local();
    b.setFleetView(fleet("open", 2, 1_000));
    expect(b.state(1_000)).toBe("half-open");
    expect(b.admit(1_000)).toBe(false);
    b.setFleetView(fleet("closed", 4));
    expect(b.admit(1_000)).toBe(true);
  });

  it("ignores a late transition older than the view it holds, but adopts any snapshot", () => {
    const b = local();
    b.setFleetView(fleet("closed", 5));
    expect(b.setFleetView(fleet("open", 4, 10_000))).toBe(false);
    expect(b.admit(0)).toBe(true);
    expect(b.setFleetView(fleet("open", 1, 10_000), { snapshot: true })).toBe(true);
    expect(b.admit(0)).toBe(false);
    b.clearFleetView();
    expect(b.admit(0)).toBe(true);
  });

  it("detached: keeps a known open state until it expires, then the local breaker decides alone", () => {
    const b = local();
    b.setFleetView(fleet("open", 2, 5_000));
    b.detach();
    expect(b.admit(4_999)).toBe(false);
    expect(b.admit(5_000)).toBe(true); // no fleet probe to wait for while detached
    failTimes(b, 5, 5_000);
    expect(b.admit(5_001)).toBe(false);
    expect(b.admit(35_000)).toBe(true); // a local probe
    b.setFleetView(fleet("half-open", 3)); // back: the coordinator's view wins again
    expect(b.admit(35_000)).toBe(false);
  });
});
