import { describe, expect, it } from "vitest";
import { parseRate, rateLimitOf } from "./rate-limits.js";

describe("parseRate and rateLimitOf", () => {
  it("reads per second, minute and hour; 0 is off", () => {
    expect([parseRate("100/s"), parseRate("30/m"), parseRate("3600/h"), parseRate("2.5"), parseRate("0")]).toEqual([
      100, 0.5, 1, 2.5, 0,
    ]);
    expect(() => parseRate("fast")).toThrow('not a rate (e.g. "100/s", "30/m", "600/h")');
    expect(rateLimitOf(0, 10)).toBeUndefined();
  });

  it("defaults the burst to one second's worth, at least 1", () => {
    expect(rateLimitOf(100, 0)).toEqual({ perSecond: 100, burst: 100 });
    expect(rateLimitOf(0.5, 0)).toEqual({ perSecond: 0.5, burst: 1 });
    expect(rateLimitOf(0.5, 20)).toEqual({ perSecond: 0.5, burst: 20 });
  });
});
