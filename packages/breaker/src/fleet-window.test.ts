import { describe, expect, it } from "vitest";
import { checkCounts, FleetWindow } from "./fleet-window.js";

const config = { windowMs: 60_000, windowBuckets: 10 };

function instances(w: FleetWindow, now: number): Record<string, number> {
  const seen: Record<string, number> = {};
  w.forEach(now, (id, window) => (seen[id] = window.failures));
  return seen;
}

describe("FleetWindow", () => {
  it("keeps a total and one window per instance", () => {
    const w = new FleetWindow(config);
    w.record("a", 1, 2, 0, 0);
    w.record("b", 3, 0, 0, 0);
    w.record("a", 0, 1, 0, 1);
    expect(w.total.counts(1)).toMatchObject({ successes: 4, failures: 3, consecutiveFailures: 1 });
    expect(w.instance("a", 1)?.failures).toBe(3);
    expect(instances(w, 1)).toEqual({ a: 3, b: 0 });
  });

  it("forgets instances whose window has emptied", () => {
    const w = new FleetWindow(config);
    w.record("a", 1, 0, 0, 0);
    w.record("b", 1, 0, 0, 50_000);
    expect(instances(w, 70_000)).toEqual({ b: 0 });
    w.record("b", 1, 0, 0, 70_000); // prunes
    expect(w.instance("a", 70_000)).toBeUndefined();
  });

  it("forgets one instance on demand, keeping its calls in the total", () => {
    const w = new FleetWindow(config);
    w.record("a", 0, 4, 0, 0);
    w.forget("a");
    expect(instances(w, 0)).toEqual({});
    expect(w.total.failures).toBe(4);
  });

  it("round-trips through JSON", () => {
    const w = new FleetWindow(config);
    w.record("a", 2, 1, 1, 1_000);
    w.record("b", 0, 3, 0, 7_000);
    const json = JSON.parse(JSON.stringify(w.toJSON(8_000)));
    const back = new FleetWindow(config);
    back.load(json, 8_000);
    expect(back.toJSON(8_000)).toEqual(json);
    expect(back.total.counts(8_000)).toEqual(w.total.counts(8_000));
  });
});

describe("checkCounts", () => {
  it("rejects counts that are not whole numbers ≥ 0, naming the value", () => {
    expect(() => checkCounts({ successes: -1, failures: 0 })).toThrow(
      new RangeError("successes must be an integer ≥ 0, got -1"),
    );
    expect(() => checkCounts({ successes: 0, failures: 0.5 })).toThrow(/failures must be an integer ≥ 0, got 0.5/);
    expect(() => checkCounts({ successes: 1, failures: 0, slowCalls: 2 })).toThrow(/slowCalls must not exceed/);
    expect(() => checkCounts({ successes: 1, failures: 1, slowCalls: 2 })).not.toThrow();
  });
});
