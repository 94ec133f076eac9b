import { describe, expect, it } from "vitest";
import { reconnectDelay, sleepUnlessAborted } from "./reconnect-backoff.js";

const options = { initialMs: 100, maxMs: 5_000 };

describe("reconnectDelay", () => {
  it("doubles from initialMs up to maxMs, between half the base and the base", () => {
    const low = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => reconnectDelay(a, options, () => 0));
    const high = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => reconnectDelay(a, options, () => 0.999999));
    expect(low).toEqual([50, 100, 200, 400, 800, 1_600, 2_500, 2_500]);
    expect(high).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });

  it("stays finite and bounded however many attempts failed", () => {
    expect(reconnectDelay(1_000_000, options, () => 0.5)).toBe(3_750);
    expect(reconnectDelay(-3, options, () => 0)).toBe(50);
  });

  it("spreads replicas that retry together", () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(3, options, random)));
    expect(delays.size).toBeGreaterThan(20);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
  });

  it("rejects bad options with a RangeError naming the value", () => {
    expect(() => reconnectDelay(0, { initialMs: 0, maxMs: 10 }, Math.random)).toThrow(/initialMs .* got 0/);
    expect(() => reconnectDelay(0, { initialMs: 10, maxMs: 5 }, Math.random)).toThrow(/maxMs .* got 5/);
  });
});

describe("sleepUnlessAborted", () => {
  it("ends at once when the signal aborts, and at once when it already had", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = sleepUnlessAborted(60_000, controller.signal);
    controller.abort();
    await sleeping;
    await sleepUnlessAborted(60_000, controller.signal);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
