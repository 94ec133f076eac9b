import { describe, expect, it } from "vitest";
import { AutoBreaker } from "./auto-breaker.js";
import { createBreakerConfig } from "./config.js";

function auto(): { breaker: AutoBreaker; changes: Array<[string, number]> } {
  const changes: Array<[string, number]> = [];
  const breaker = new AutoBreaker(
    createBreakerConfig(),
    () => 0.5,
    (reason, at) => changes.push([reason, at]),
  );
  return { breaker, changes };
}

describe("AutoBreaker", () => {
  it("reports each change of its own state with why and when", () => {
    const { breaker, changes } = auto();
    breaker.record("a", 0, 5, 0, 100, true);
    breaker.tick(30_100);
    const permit = breaker.acquireProbe("a", 30_100);
    if (permit.granted) breaker.completeProbe(permit.id, false, 30_200);
    expect(changes).toEqual([
      ["5 consecutive failures; open for 30000 ms", 100],
      ["open time over; probing", 30_100],
      ["probe failed; open for 60000 ms", 30_200],
    ]);
  });

  it("counts but does not trip when told not to evaluate (an override holds)", () => {
    const { breaker, changes } = auto();
    breaker.record("a", 0, 50, 0, 0, false);
    expect(breaker.state).toEqual({ kind: "closed" });
    expect(breaker.window.total.failures).toBe(50);
    expect(changes).toEqual([]);
  });

  it("says when its next change falls due by time alone", () => {
    const { breaker } = auto();
    expect(breaker.nextChangeAt).toBe(Infinity);
    breaker.record("a", 0, 5, 0, 0, true);
    expect(breaker.nextChangeAt).toBe(30_000);
    breaker.tick(30_000);
    breaker.acquireProbe("a", 30_000);
    expect(breaker.nextChangeAt).toBe(35_000);
    expect(breaker.probesInFlight).toBe(1);
  });

  it("resets to a clean close without reporting (its owner announces it)", () => {
    const { breaker, changes } = auto();
    breaker.record("a", 0, 5, 0, 0, true);
    breaker.reset();
    expect(breaker.state).toEqual({ kind: "closed" });
    expect([breaker.reopenCount, breaker.window.total.calls, changes.length]).toEqual([0, 0, 1]);
  });

  it("round-trips through JSON", () => {
    const { breaker } = auto();
    breaker.record("a", 0, 5, 0, 0, true);
    const json = JSON.parse(JSON.stringify(breaker.toJSON(1_000)));
    const back = auto().breaker;
    back.load(json, 1_000);
    expect(back.toJSON(1_000)).toEqual(json);
    expect(back.state).toEqual({ kind: "open", openUntil: 30_000 });
  });
});
