import { describe, expect, it } from "vitest";
import { baseOpenTimeout, openTimeout } from "./backoff.js";
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
