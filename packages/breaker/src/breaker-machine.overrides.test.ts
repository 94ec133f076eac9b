import { describe, expect, it } from "vitest";
import { machineHarness } from "./__fixtures__/machine-harness.js";

describe("BreakerMachine: operator overrides", () => {
  it("forces open with a reason until the expiry, then lapses back to AUTO", () => {
    const h = machineHarness();
    h.machine.force("open", { reason: "storage maintenance", ttlMs: 60_000 }, h.now);
    expect(h.machine.view(h.now)).toMatchObject({ state: "open", forced: true, openUntil: h.now + 60_000, version: 1 });
    expect(h.machine.override).toEqual({ mode: "open", reason: "storage maintenance", expiresAt: h.now + 60_000 });
    expect(h.machine.acquireProbe("a", h.now)).toMatchObject({ granted: false, why: "open", retryAfterMs: 60_000 });
    h.advance(60_000);
    expect(h.machine.view(h.now)).toMatchObject({ state: "closed", forced: false, version: 2 });
    expect(h.events.map((e) => [e.from, e.to, e.forced, e.reason])).toEqual([
      ["closed", "open", true, "storage maintenance"],
      ["open", "closed", false, "forced open lapsed (storage maintenance)"],
    ]);
  });

  it("forces closed: failures are counted but do not open it while forced", () => {
    const h = machineHarness();
    h.machine.force("closed", { reason: "false alarms", ttlMs: 10_000 }, h.now);
    h.fail(20);
    expect(h.machine.view(h.now)).toMatchObject({ state: "closed", forced: true });
    expect(h.machine.acquireProbe("a", h.now)).toMatchObject({ granted: false, why: "closed" });
    h.advance(10_000);
    h.machine.tick(h.now);
    expect(h.machine.override).toBeUndefined();
    h.fail(1); // back in AUTO, the window still holds the run
    expect(h.machine.state).toBe("open");
  });

  it("holds an override without ttl until lifted with AUTO", () => {
    const h = machineHarness();
    h.machine.force("open", { reason: "hold" }, h.now);
    expect(h.machine.openUntil).toBeUndefined();
    expect(h.machine.nextChangeAt).toBeUndefined();
    h.advance(86_400_000);
    expect(h.machine.view(h.now)).toMatchObject({ state: "open", forced: true });
    h.machine.force("auto", {}, h.now);
    expect(h.machine.view(h.now)).toMatchObject({ state: "closed", forced: false });
    expect(h.machine.reason).toBe("override lifted");
    h.machine.force("auto", {}, h.now); // nothing to lift: no transition
    expect(h.events).toHaveLength(2);
  });

  it("lets the automatic state move on underneath an override", () => {
    const h = machineHarness();
    h.fail(5); // open for 30 s
    h.machine.force("closed", { reason: "let traffic through", ttlMs: 40_000 }, h.now);
    h.advance(40_000);
    expect(h.machine.view(h.now)).toMatchObject({ state: "half-open", forced: false });
    expect(h.events.map((e) => e.to)).toEqual(["open", "closed", "half-open"]);
  });

  it("resets to closed, lifting the override and clearing window and backoff", () => {
    const h = machineHarness();
    h.fail(5);
    h.machine.force("open", { reason: "hold" }, h.now);
    h.machine.reset(h.now);
    expect(h.machine.view(h.now)).toMatchObject({ state: "closed", forced: false });
    expect(h.machine.reason).toBe("reset by an operator");
    expect(h.machine.reopenCount).toBe(0);
    expect(h.machine.outcomes.total.calls).toBe(0);
  });

  it("emits a transition for every operator action, even one that keeps the state", () => {
    const h = machineHarness();
    h.machine.force("closed", { reason: "pin" }, h.now);
    h.machine.reset(h.now);
    h.machine.reset(h.now);
    expect(h.events.map((e) => [e.from, e.to, e.version])).toEqual([
      ["closed", "closed", 1],
      ["closed", "closed", 2],
      ["closed", "closed", 3],
    ]);
  });

  it("rejects a bad ttl with a RangeError naming the value", () => {
    const h = machineHarness();
    expect(() => h.machine.force("open", { reason: "x", ttlMs: -1 }, h.now)).toThrow(
      new RangeError("ttlMs must be a finite number ≥ 0, got -1"),
    );
    expect(() => h.machine.force("open", { ttlMs: Number.NaN }, h.now)).toThrow(RangeError);
  });
});

describe("BreakerMachine: version", () => {
  it("grows by one on every transition and never goes back", () => {
    const h = machineHarness();
    const seen: number[] = [h.machine.version];
    const step = (): void => {
      seen.push(h.machine.version);
    };
    h.fail(5);
    step();
    h.advance(30_000);
    h.machine.tick(h.now);
    step();
    const permit = h.machine.acquireProbe("a", h.now);
    if (permit.granted) h.machine.completeProbe(permit.id, false, h.now);
    step();
    h.machine.force("closed", { reason: "x", ttlMs: 1_000 }, h.now);
    step();
    h.advance(1_000);
    h.machine.tick(h.now);
    step();
    h.machine.reset(h.now);
    step();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(h.events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
