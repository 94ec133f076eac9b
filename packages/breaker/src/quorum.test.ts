import { describe, expect, it } from "vitest";
import { machineHarness } from "./__fixtures__/machine-harness.js";
import { describeBreaker } from "./breaker-details.js";
import { createBreakerConfig } from "./config.js";
import { FleetWindow } from "./fleet-window.js";
import { hasQuorum, isInstanceFailing, locallyOpenInstances, requiredQuorum } from "./quorum.js";

const config = createBreakerConfig(); // quorum 2 instances or 0.5 of reporters

describe("requiredQuorum", () => {
  it("needs 1 when only one instance reports, else quorum_instances or the fraction, never 1 of several", () => {
    expect([0, 1, 2, 3, 4, 10, 100].map((n) => requiredQuorum(n, config))).toEqual([1, 1, 2, 2, 2, 2, 2]);
    const big = { quorumInstances: 5, quorumFraction: 0.5 };
    expect([2, 3, 4, 6, 10, 20].map((n) => requiredQuorum(n, big))).toEqual([2, 2, 2, 3, 5, 5]);
    expect(requiredQuorum(10, { quorumInstances: 9, quorumFraction: 0.3 })).toBe(3);
    expect(requiredQuorum(5, { quorumInstances: 1, quorumFraction: 0.5 })).toBe(1);
  });

  it("is met by at least that many failing instances", () => {
    expect(hasQuorum(0, 0, config)).toBe(false);
    expect(hasQuorum(1, 1, config)).toBe(true);
    expect(hasQuorum(1, 3, config)).toBe(false);
    expect(hasQuorum(2, 3, config)).toBe(true);
  });
});

describe("isInstanceFailing", () => {
  const w = (successes: number, failures: number, consecutiveFailures = 0, slowCalls = 0) => ({
    successes,
    failures,
    consecutiveFailures,
    slowCalls,
  });
  it("counts an instance whose own rate or run crosses the threshold, not one with a stray failure", () => {
    expect(isInstanceFailing(w(1, 1, 1), config)).toBe(true);
    expect(isInstanceFailing(w(20, 1, 1), config)).toBe(false);
    expect(isInstanceFailing(w(20, 5, 5), config)).toBe(true);
    expect(isInstanceFailing(w(0, 0), config)).toBe(false);
    expect(isInstanceFailing(w(4, 0, 0, 4), createBreakerConfig({ slowCallMs: 100 }))).toBe(true);
  });
});

describe("fleet breaker quorum", () => {
  it("opens when three instances fail", () => {
    const h = machineHarness();
    for (const id of ["a", "b", "c"]) h.machine.record(id, { successes: 1, failures: 3 }, h.now);
    expect(h.machine.state).toBe("open");
    expect(h.machine.reason).toBe(
      "failure rate 0.75 ≥ 0.5 over 12 calls (3 of 3 instances failing); open for 30000 ms",
    );
    expect(describeBreaker(h.machine, h.now)).toMatchObject({
      contributingInstances: ["a", "b", "c"],
      locallyOpenInstances: [],
    });
  });

  it("does not open for one instance failing alone among healthy ones, and reports it locally open", () => {
    const h = machineHarness();
    h.machine.record("b", { successes: 2, failures: 0 }, h.now);
    h.machine.record("c", { successes: 2, failures: 0 }, h.now);
    h.machine.record("sick", { successes: 0, failures: 12 }, h.now);
    expect(h.machine.outcomes.total.failures / h.machine.outcomes.total.calls).toBeGreaterThan(0.5);
    expect(h.machine.state).toBe("closed");
    const details = describeBreaker(h.machine, h.now);
    expect(details.locallyOpenInstances).toEqual(["sick"]);
    expect(details.contributingInstances).toEqual(["sick"]);
    expect(details.window).toMatchObject({ successes: 4, failures: 12, consecutiveFailures: 12 });
  });

  it("opens when a second instance starts failing too", () => {
    const h = machineHarness();
    h.machine.record("a", { successes: 10, failures: 0 }, h.now);
    h.machine.record("sick", { successes: 0, failures: 12 }, h.now);
    expect(h.machine.state).toBe("closed");
    h.machine.record("a", { successes: 0, failures: 5 }, h.now);
    expect(h.machine.state).toBe("open");
  });

  it("opens for a single instance when it is the only one reporting", () => {
    const h = machineHarness();
    h.fail(5, "only");
    expect(h.machine.state).toBe("open");
    expect(h.machine.reason).toBe("5 consecutive failures; open for 30000 ms");
  });

  it("stops counting an instance once it is forgotten", () => {
    const h = machineHarness();
    h.machine.record("a", { successes: 5, failures: 0 }, h.now);
    h.machine.forgetInstance("a");
    h.fail(5, "b"); // now the only reporter
    expect(h.machine.state).toBe("open");
  });
});

describe("locallyOpenInstances", () => {
  it("lists instances whose own calls cross the thresholds, minimum requests included", () => {
    const w = new FleetWindow(config);
    w.record("few", 0, 3, 0, 0);
    w.record("run", 10, 5, 0, 0);
    w.record("rate", 4, 6, 0, 0);
    w.record("fine", 9, 1, 0, 0);
    expect(locallyOpenInstances(w, config, 0)).toEqual(["rate", "run"]);
  });
});
