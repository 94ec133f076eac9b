import { describe, expect, it } from "vitest";
import { CoarseClock } from "./coarse-clock.js";
import { DrivenTime } from "./__fixtures__/driven-time.js";

describe("CoarseClock", () => {
  it("reads the clock once per resolution while asked, and afresh after a quiet spell", () => {
    const time = new DrivenTime(1_000);
    let reads = 0;
    const counted = { now: () => (reads++, time.now()) };
    const coarse = new CoarseClock(counted, time, 10);
    expect(coarse.now()).toBe(1_000);
    time.advance(9);
    expect(coarse.now()).toBe(1_000);
    expect(reads).toBe(1);
    time.advance(1);
    expect(coarse.now()).toBe(1_010);
    time.advance(60_000);
    expect(coarse.now()).toBe(61_010);
    expect(reads).toBe(3);
    coarse.close();
    expect(time.timers).toBe(0);
  });

  it("with resolution 0 reads the clock every time, and rejects a negative one", () => {
    const time = new DrivenTime(5);
    const exact = new CoarseClock(time, time, 0);
    exact.now();
    expect(time.timers).toBe(0);
    expect(() => new CoarseClock(time, time, -1)).toThrow(/resolutionMs must be ≥ 0, got -1/);
  });
});
