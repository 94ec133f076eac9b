import { describe, expect, it } from "vitest";
import { SlidingWindow } from "./sliding-window.js";

// 60 s in 10 buckets of 6 s.
const window = (): SlidingWindow => new SlidingWindow(60_000, 10);

describe("SlidingWindow", () => {
  it("sums outcomes within the window", () => {
    const w = window();
    w.record(3, 1, 1, 1_000);
    w.record(0, 2, 0, 20_000);
    expect(w.counts(30_000)).toEqual({
      successes: 3,
      failures: 3,
      slowCalls: 1,
      failureRate: 0.5,
      consecutiveFailures: 3,
    });
    expect(w.calls).toBe(6);
  });

  it("drops buckets as they fall out of the window", () => {
    const w = window();
    w.record(5, 0, 0, 0); // bucket [0, 6 s)
    w.record(0, 1, 0, 30_000);
    w.advance(59_999);
    expect(w.successes).toBe(5);
    w.advance(60_000); // the first bucket is gone
    expect(w.successes).toBe(0);
    expect(w.failures).toBe(1);
    w.advance(95_999);
    expect(w.failures).toBe(0);
    expect(w.empty).toBe(true);
  });

  it("keeps exactly the last window while rotating through its buckets many times", () => {
    const w = window();
    for (let bucket = 0; bucket < 35; bucket++) w.record(1, bucket % 2, 0, bucket * 6_000 + 3_000);
    // Buckets 25..34 remain: 10 successes, 5 failures (the odd ones).
    expect(w.counts(34 * 6_000 + 5_999)).toMatchObject({ successes: 10, failures: 5 });
    expect(w.toJSON(34 * 6_000).buckets.map((b) => b[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => (25 + i) * 6_000),
    );
  });

  it("empties entirely after a gap longer than the window", () => {
    const w = window();
    w.record(4, 4, 2, 10_000);
    w.advance(10_000 + 10 * 60_000);
    const later = 10_000 + 10 * 60_000;
    expect(w.counts(later)).toEqual({
      successes: 0,
      failures: 0,
      slowCalls: 0,
      failureRate: 0,
      consecutiveFailures: 0,
    });
  });

  it("counts the run of consecutive failures; a success ends it", () => {
    const w = window();
    w.record(0, 1, 0, 0);
    w.record(0, 1, 0, 1);
    expect(w.consecutiveFailures).toBe(2);
    w.record(1, 0, 0, 2);
    expect(w.consecutiveFailures).toBe(0);
    // A batch with successes and failures: failures taken as the latest.
    w.record(2, 3, 0, 3);
    expect(w.consecutiveFailures).toBe(3);
  });

  it("shortens the run as its failures leave the window", () => {
    const w = window();
    w.record(0, 2, 0, 0);
    w.record(0, 1, 0, 30_000);
    expect(w.consecutiveFailures).toBe(3);
    w.advance(60_000);
    expect(w.consecutiveFailures).toBe(1);
  });

  it("counts a reading older than the newest bucket in the newest bucket", () => {
    const w = window();
    w.record(1, 0, 0, 30_000);
    w.record(1, 0, 0, 1_000);
    w.advance(30_000);
    expect(w.successes).toBe(2);
  });

  it("round-trips through JSON, also into a window cut differently", () => {
    const w = window();
    w.record(3, 1, 0, 1_000);
    w.record(0, 2, 1, 40_000);
    const json = w.toJSON(50_000);
    expect(json).toEqual({
      buckets: [
        [0, 3, 1, 0],
        [36_000, 0, 2, 1],
      ],
      consecutiveFailures: 3,
    });

    const same = window();
    same.load(JSON.parse(JSON.stringify(json)), 50_000);
    expect(same.counts(50_000)).toEqual(w.counts(50_000));

    const finer = new SlidingWindow(60_000, 60);
    finer.load(json, 62_000); // the bucket saved at 0 has left the window
    expect(finer.counts(62_000)).toMatchObject({ successes: 0, failures: 2, slowCalls: 1, consecutiveFailures: 2 });
  });

  it("rejects bad sizing with a RangeError naming the value", () => {
    expect(() => new SlidingWindow(60_000, 0)).toThrow(new RangeError("buckets must be an integer ≥ 1, got 0"));
    expect(() => new SlidingWindow(5, 10)).toThrow(/windowMs must be at least 1 ms per bucket, got 5/);
  });
});
