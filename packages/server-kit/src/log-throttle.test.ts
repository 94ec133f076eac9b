import { describe, expect, it } from "vitest";
import { createLogThrottle } from "./log-throttle.js";

describe("log throttle", () => {
  it("writes the first line of a kind, holds back the rest of its window, and counts them on the next line", () => {
    let t = 0;
    const throttle = createLogThrottle({ windowMs: 1_000, now: () => t });
    expect(throttle.admit("a")).toEqual({ write: true, suppressed: 0 });
    t = 10;
    expect(throttle.admit("a")).toEqual({ write: false, suppressed: 0 });
    expect(throttle.admit("a").write).toBe(false);
    expect(throttle.admit("b")).toEqual({ write: true, suppressed: 0 }); // kinds are separate
    t = 1_000;
    expect(throttle.admit("a")).toEqual({ write: true, suppressed: 2 });
    t = 1_500;
    expect(throttle.admit("a").write).toBe(false);
    t = 5_000;
    expect(throttle.admit("a")).toEqual({ write: true, suppressed: 1 });
  });

  it("stays bounded when kinds keep changing", () => {
    let t = 0;
    const throttle = createLogThrottle({ windowMs: 1_000, now: () => t, maxKinds: 3 });
    for (const k of ["a", "b", "c", "d"]) expect(throttle.admit(k).write).toBe(true);
    t = 1;
    // "a" was forgotten when the map was cleared for "d": written again rather than growing the map.
    expect(throttle.admit("a").write).toBe(true);
    expect(throttle.admit("d").write).toBe(false);
  });
});
