import { describe, expect, it } from "vitest";
import { createBreakerConfig } from "./config.js";
import { FleetWindow } from "./fleet-window.js";
import { sumFleetWindows } from "./fleet-window-sum.js";

const config = createBreakerConfig({ windowMs: 10_000, windowBuckets: 10 });

describe("sumFleetWindows (injected clock)", () => {
  it("adds two replicas' windows into what one window fed with every outcome holds", () => {
    const t0 = 1_000_000;
    const a = new FleetWindow(config);
    const b = new FleetWindow(config);
    const all = new FleetWindow(config);
    const feed = (w: FleetWindow, id: string, ok: number, failed: number, at: number): void => {
      w.record(id, ok, failed, 0, at);
      all.record(id, ok, failed, 0, at);
    };
    feed(a, "i1", 3, 0, t0);
    feed(a, "i2", 0, 4, t0 + 1_500);
    feed(b, "i3", 0, 5, t0 + 1_600);
    feed(b, "i1", 0, 1, t0 + 2_100); // i1 moved to replica b
    const now = t0 + 3_000;
    const sum = sumFleetWindows([a.toJSON(now), b.toJSON(now)]);
    const loaded = new FleetWindow(config);
    loaded.load(sum, now);
    expect(loaded.total.counts(now)).toEqual({ ...all.total.counts(now), consecutiveFailures: 10 });
    expect(Object.keys(sum.instances).sort()).toEqual(["i1", "i2", "i3"]);
    expect(loaded.instance("i1", now)?.counts(now)).toMatchObject({ successes: 3, failures: 1 });
  });

  it("leaves out buckets older than the last clear, and the window moves on with the clock", () => {
    const t0 = 2_000_000;
    const a = new FleetWindow(config);
    a.record("i1", 0, 8, 0, t0);
    a.record("i1", 0, 2, 0, t0 + 5_000);
    const cleared = sumFleetWindows([a.toJSON(t0 + 5_000)], t0 + 4_000);
    expect(cleared.total.buckets).toEqual([[t0 + 5_000, 0, 2, 0]]);
    expect(cleared.total.consecutiveFailures).toBe(2);
    // Eleven seconds on, everything has left the 10 s window.
    const later = new FleetWindow(config);
    later.load(sumFleetWindows([a.toJSON(t0 + 16_000)]), t0 + 16_000);
    expect(later.total.counts(t0 + 16_000).failures).toBe(0);
  });

  it("sums nothing to an empty window", () => {
    expect(sumFleetWindows([])).toEqual({ total: { buckets: [], consecutiveFailures: 0 }, instances: {} });
  });
});
