import { describe, expect, it } from "vitest";
import { machineHarness } from "./__fixtures__/machine-harness.js";

describe("BreakerMachine: closed → open", () => {
  it("starts closed at version 0", () => {
    const { machine, now } = machineHarness();
    expect(machine.view(now)).toEqual({
      name: "s3:test",
      state: "closed",
      version: 0,
      openUntil: undefined,
      forced: false,
    });
    expect(machine.since).toBe(now);
  });

  it("does not open on a high failure rate below minimum_requests", () => {
    const h = machineHarness({ consecutiveFailures: 100 });
    h.succeed(4);
    h.fail(5); // 9 calls, rate 0.56
    expect(h.machine.state).toBe("closed");
    h.fail(1); // 10 calls, rate 0.6
    expect(h.machine.state).toBe("open");
    expect(h.machine.reason).toBe("failure rate 0.6 ≥ 0.5 over 10 calls; open for 30000 ms");
  });

  it("opens at a failure rate at the threshold, not below it", () => {
    const h = machineHarness({ consecutiveFailures: 100 });
    for (let i = 0; i < 5; i++) {
      h.succeed(1);
      h.fail(1);
    }
    expect(h.machine.state).toBe("open"); // 5 of 10
    const below = machineHarness({ consecutiveFailures: 100 });
    below.succeed(6);
    below.fail(4);
    expect(below.machine.state).toBe("closed");
  });

  it("counts only the window: old failures have left it", () => {
    const h = machineHarness({ consecutiveFailures: 100 });
    h.fail(9);
    h.advance(60_000);
    h.succeed(1);
    h.fail(1);
    expect(h.machine.state).toBe("closed");
  });

  it("opens on consecutive failures whatever the rate; a success resets the run", () => {
    const h = machineHarness();
    h.succeed(100);
    h.fail(4);
    h.succeed(1);
    h.fail(4);
    expect(h.machine.state).toBe("closed");
    h.fail(1);
    expect(h.machine.state).toBe("open");
    expect(h.machine.reason).toBe("5 consecutive failures; open for 30000 ms");
  });

  it("opens on the slow-call rate only when slow_call_ms is set", () => {
    const off = machineHarness();
    for (let i = 0; i < 20; i++) off.machine.recordOutcome("i1", true, true, off.now);
    expect(off.machine.state).toBe("closed");

    const on = machineHarness({ slowCallMs: 1_000, slowCallRateThreshold: 0.8 });
    on.machine.record("i1", { successes: 10, failures: 0, slowCalls: 7 }, on.now);
    expect(on.machine.state).toBe("closed");
    on.machine.record("i1", { successes: 2, failures: 0, slowCalls: 2 }, on.now);
    expect(on.machine.state).toBe("closed"); // 9 of 12
    on.machine.record("i1", { successes: 3, failures: 0, slowCalls: 3 }, on.now);
    expect(on.machine.state).toBe("open"); // 12 of 15
    expect(on.machine.reason).toMatch(/^slow-call rate 0.8 ≥ 0.8 over 15 calls/);
  });

  it("emits the transition with its version, reason and time", () => {
    const h = machineHarness();
    h.advance(500);
    h.fail(5);
    expect(h.events).toEqual([
      {
        name: "s3:test",
        from: "closed",
        to: "open",
        state: "open",
        version: 1,
        openUntil: h.now + 30_000,
        forced: false,
        reason: "5 consecutive failures; open for 30000 ms",
        at: h.now,
      },
    ]);
    expect(h.machine.since).toBe(h.now);
  });

  it("records outcomes that arrive while open without re-opening", () => {
    const h = machineHarness();
    h.fail(5);
    h.fail(20);
    expect(h.events).toHaveLength(1);
    expect(h.machine.outcomes.total.failures).toBe(25);
  });

  it("rejects malformed batches with a RangeError naming the value", () => {
    const h = machineHarness();
    expect(() => h.machine.record("i1", { successes: -2, failures: 0 }, h.now)).toThrow(
      new RangeError("successes must be an integer ≥ 0, got -2"),
    );
  });
});

describe("BreakerMachine: open → half-open", () => {
  it("turns half-open lazily once the open time has passed, without timers", () => {
    const h = machineHarness();
    h.fail(5);
    const until = h.machine.openUntil ?? 0;
    expect(until).toBe(h.now + 30_000);
    expect(h.machine.nextChangeAt).toBe(until);
    h.machine.tick(until - 1);
    expect(h.machine.state).toBe("open");
    h.machine.tick(until);
    expect(h.machine.state).toBe("half-open");
    expect(h.machine.openUntil).toBeUndefined();
    expect(h.events.map((e) => [e.from, e.to, e.version])).toEqual([
      ["closed", "open", 1],
      ["open", "half-open", 2],
    ]);
  });

  it("jitters the open time within ± open_jitter using the injected random", () => {
    const low = machineHarness({}, () => 0);
    low.fail(5);
    expect((low.machine.openUntil ?? 0) - low.now).toBe(27_000);
    const high = machineHarness({}, () => 0.999_999);
    high.fail(5);
    expect((high.machine.openUntil ?? 0) - high.now).toBe(33_000);
  });

  it("notices the change on any call, e.g. a probe request", () => {
    const h = machineHarness();
    h.fail(5);
    h.advance(30_000);
    expect(h.machine.acquireProbe("x", h.now)).toMatchObject({ granted: true });
    expect(h.machine.state).toBe("half-open");
  });
});
