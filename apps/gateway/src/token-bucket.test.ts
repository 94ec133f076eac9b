import { describe, expect, it } from "vitest";
import { createTokenBuckets } from "./token-bucket.js";

describe("createTokenBuckets", () => {
  it("lets a burst through, then one request per 1/rate seconds, saying how long to wait", () => {
    const buckets = createTokenBuckets({ ratePerSecond: 2, burst: 3 });
    const t0 = 1_000_000;
    expect([0, 1, 2].map(() => buckets.take("a", t0))).toEqual([0, 0, 0]);
    expect(buckets.take("a", t0)).toBe(500);
    expect(buckets.take("a", t0 + 200)).toBe(300);
    expect(buckets.take("a", t0 + 500)).toBe(0);
    expect(buckets.take("a", t0 + 500)).toBe(500);
    // A quiet spell refills up to the burst, no further.
    expect([0, 1, 2, 3].map(() => buckets.take("a", t0 + 60_000))).toEqual([0, 0, 0, 500]);
  });

  it("keeps each key's bucket apart", () => {
    const buckets = createTokenBuckets({ ratePerSecond: 1, burst: 1 });
    expect(buckets.take("a", 0)).toBe(0);
    expect(buckets.take("a", 0)).toBe(1000);
    expect(buckets.take("b", 0)).toBe(0);
  });

  it("does not count time backwards (a clock that steps back refills nothing)", () => {
    const buckets = createTokenBuckets({ ratePerSecond: 1, burst: 1 });
    expect(buckets.take("a", 5_000)).toBe(0);
    expect(buckets.take("a", 1_000)).toBe(1000);
  });

  it("stays within maxKeys: idle (full) buckets go first, then the oldest", () => {
    const buckets = createTokenBuckets({ ratePerSecond: 1, burst: 2, maxKeys: 10 });
    for (let i = 0; i < 10; i++) buckets.take(`idle-${i}`, 0);
    buckets.take("new", 10_000); // the idle ones have refilled: forgotten
    expect(buckets.size).toBe(1);
    for (let i = 0; i < 9; i++) buckets.take(`busy-${i}`, 10_000);
    expect(buckets.size).toBe(10);
    buckets.take("one-more", 10_000); // none idle: the oldest go, down to 9, then this one
    expect(buckets.size).toBe(10);
    expect(buckets.take("new", 10_000)).toBe(0); // "new" was the oldest: forgotten, so a full bucket again
    expect(buckets.take("busy-8", 10_000)).toBe(0); // kept: its second token
    expect(buckets.take("busy-8", 10_000)).toBe(1000);
  });

  it("refuses a rate or burst that cannot work, naming the value", () => {
    expect(() => createTokenBuckets({ ratePerSecond: 0, burst: 1 })).toThrow("ratePerSecond must be above 0, got 0");
    expect(() => createTokenBuckets({ ratePerSecond: 1, burst: 0.5 })).toThrow("burst must be at least 1, got 0.5");
  });
});
