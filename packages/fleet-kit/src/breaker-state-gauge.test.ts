import { Registry } from "prom-client";
import { promSample } from "@breakwater/testkit";
import { describe, expect, it } from "vitest";
import type { BreakerStateKind } from "@breakwater/breaker";
import { registerBreakerStateGauge } from "./breaker-state-gauge.js";

describe("registerBreakerStateGauge", () => {
  it("exports each breaker's state read at scrape time (0 closed, 1 half-open, 2 open), drops gone ones", async () => {
    const registry = new Registry();
    let breakers: { name: string; state: BreakerStateKind }[] = [
      { name: "s3:a", state: "closed" },
      { name: "s3:b", state: "half-open" },
      { name: "s3:c", state: "open" },
    ];
    registerBreakerStateGauge(registry, { name: "x_breaker_state", help: "Breaker state", breakers: () => breakers });
    const text = await registry.metrics();
    expect(["s3:a", "s3:b", "s3:c"].map((breaker) => promSample(text, "x_breaker_state", { breaker }))).toEqual([
      0, 1, 2,
    ]);
    expect(text).toContain("# HELP x_breaker_state Breaker state: 0 closed, 1 half-open, 2 open");
    breakers = [{ name: "s3:a", state: "open" }];
    const later = await registry.metrics();
    expect(promSample(later, "x_breaker_state", { breaker: "s3:a" })).toBe(2);
    expect(promSample(later, "x_breaker_state", { breaker: "s3:c" })).toBeUndefined();
  });
});
