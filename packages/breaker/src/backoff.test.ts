import { describe, expect, it } from "vitest";
import { baseOpenTimeout, openTimeout, reconnectDelay } from "./backoff.js";
import { createBreakerConfig } from "./config.js";

const config = createBreakerConfig(); // 30 s, max 5 min, jitter 0.1
const mid = (): number => 0.5;

describe("open timeout", () => {
  it("doubles on each re-open up to the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 60, 2_000].map((n) => baseOpenTimeout(n, config))).toEqual([
      30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000, 300_000,
    ]);
    expect(openTimeout(2, config, mid)).toBe(120_000);
  });

  it("stays within ± open_jitter of the base", () => {
    expect(openTimeout(0, config, () => 0)).toBe(27_000);
    expect(openTimeout(0, config, () => 0.999_999)).toBe(33_000);
    for (let i = 0; i < 200; i++) {
      const ms = openTimeout(1, config, Math.random);
      expect(ms).toBeGreaterThanOrEqual(54_000);
      expect(ms).toBeLessThanOrEqual(66_000);
    }
  });

  it("never exceeds max_open_timeout, jitter included", () => {
    expect(openTimeout(10, config, () => 0.999)).toBe(300_000);
    expect(openTimeout(10, config, () => 0)).toBe(270_000);
  });

  it("is exact with no jitter configured", () => {
    expect(openTimeout(1, createBreakerConfig({ openJitter: 0 }), () => 0)).toBe(60_000);
  });
});

const reconnect = { initialMs: 100, maxMs: 5_000 };

describe("reconnectDelay", () => {
  it("doubles from initialMs up to maxMs, between half the base and the base", () => {
    const low = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => reconnectDelay(a, reconnect, () => 0));
    const high = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => reconnectDelay(a, reconnect, () => 0.999999));
    expect(low).toEqual([50, 100, 200, 400, 800, 1_600, 2_500, 2_500]);
    expect(high).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });

  it("stays finite and bounded however many attempts failed", () => {
    expect(reconnectDelay(1_000_000, reconnect, () => 0.5)).toBe(3_750);
    expect(reconnectDelay(-3, reconnect, () => 0)).toBe(50);
  });

  it("spreads replicas that retry together", () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(3, reconnect, random)));
    expect(delays.size).toBeGreaterThan(20);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
  });

  it("rejects bad reconnect with a RangeError naming the value", () => {
    expect(() => reconnectDelay(0, { initialMs: 0, maxMs: 10 }, Math.random)).toThrow(/initialMs .* got 0/);
    expect(() => reconnectDelay(0, { initialMs: 10, maxMs: 5 }, Math.random)).toThrow(/maxMs .* got 5/);
  });
});
