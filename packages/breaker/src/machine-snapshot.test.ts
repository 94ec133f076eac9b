import { describe, expect, it } from "vitest";
import { type MachineHarness, machineHarness } from "./__fixtures__/machine-harness.js";
import { BreakerMachine } from "./breaker-machine.js";
import { isBreakerSnapshotError } from "./breaker-snapshot-error.js";
import type { BreakerTransition } from "./breaker-state.js";
import { createBreakerConfig } from "./config.js";
import type { ProbeAnswer, ProbePermit } from "./probe-leases.js";

const config = createBreakerConfig();

/** Saves through JSON text, as the snapshot file does, and restores at `at`. */
function roundTrip(h: MachineHarness, at = h.now, events: BreakerTransition[] = []): BreakerMachine {
  const text = JSON.stringify(h.machine.toJSON(h.now));
  return BreakerMachine.restore(
    JSON.parse(text),
    { config, random: () => 0.5, onTransition: (t) => events.push(t) },
    at,
  );
}

/** Asserts that a probe was granted and answers the permit (the test fails here otherwise). */
function permit(answer: ProbeAnswer): ProbePermit {
  expect(answer).toMatchObject({ granted: true });
  return answer as ProbePermit;
}

function expectSame(a: BreakerMachine, b: BreakerMachine, now: number): void {
  expect(b.toJSON(now)).toEqual(a.toJSON(now));
  expect(b.view(now)).toEqual(a.view(now));
  const facts = (m: BreakerMachine) => [m.since, m.reason, m.reopenCount, m.halfOpenSuccesses];
  expect(facts(b)).toEqual(facts(a));
}

describe("machine snapshots", () => {
  it("round-trip a closed breaker with its window", () => {
    const h = machineHarness();
    h.machine.record("a", { successes: 7, failures: 2, slowCalls: 1 }, h.now);
    h.machine.record("b", { successes: 0, failures: 2 }, h.advance(7_000));
    const back = roundTrip(h);
    expectSame(h.machine, back, h.now);
    // a's own run of 2 goes on to 5, so a and b both fail: a quorum.
    for (let i = 0; i < 3; i++) back.recordOutcome("a", false, false, h.now);
    expect(back.state).toBe("open");
  });

  it("round-trip an open breaker with what is left of its open time", () => {
    const h = machineHarness();
    h.fail(5);
    h.advance(10_000);
    const events: BreakerTransition[] = [];
    const back = roundTrip(h, h.now, events);
    expectSame(h.machine, back, h.now);
    expect(back.openUntil).toBe(h.now + 20_000);
    expect(events).toEqual([]);
    back.tick(h.now + 20_000);
    expect(back.state).toBe("half-open");
    expect(events.map((e) => e.version)).toEqual([2]);
  });

  it("apply on restore the changes that fell due while saved, and the version goes on", () => {
    const h = machineHarness();
    h.fail(5);
    const events: BreakerTransition[] = [];
    const back = roundTrip(h, h.now + 60_000, events);
    expect(back.view(h.now + 60_000)).toMatchObject({ state: "half-open", version: 2 });
    expect(events.map((e) => [e.from, e.to, e.version])).toEqual([["open", "half-open", 2]]);
  });

  it("round-trip a half-open breaker with its successes and the permits out", () => {
    const h = machineHarness();
    h.fail(5);
    h.advance(30_000);
    const first = permit(h.machine.acquireProbe("a", h.now));
    expect(h.machine.completeProbe(first.id, true, h.now)).toBe(true);
    const out = permit(h.machine.acquireProbe("b", h.now));
    const back = roundTrip(h);
    expectSame(h.machine, back, h.now);
    expect(back.probesInFlight(h.now)).toBe(1);
    expect(back.acquireProbe("c", h.now)).toMatchObject({ granted: false, why: "busy" });
    expect(back.completeProbe(out.id, true, h.now)).toBe(true);
    expect(back.halfOpenSuccesses).toBe(2);
    expect(back.acquireProbe("c", h.now)).toMatchObject({ granted: true, id: "p3" });
  });

  it("round-trip a re-opened breaker with its backoff", () => {
    const h = machineHarness();
    h.fail(5);
    h.advance(30_000);
    const p = permit(h.machine.acquireProbe("a", h.now));
    expect(h.machine.completeProbe(p.id, false, h.now)).toBe(true);
    const back = roundTrip(h);
    expectSame(h.machine, back, h.now);
    expect(back.reopenCount).toBe(1);
  });

  it("round-trip forced open and forced closed breakers, expiry included", () => {
    for (const mode of ["open", "closed"] as const) {
      const h = machineHarness();
      h.machine.force(mode, { reason: `pinned ${mode}`, ttlMs: 60_000 }, h.now);
      h.advance(15_000);
      const back = roundTrip(h);
      expectSame(h.machine, back, h.now);
      expect(back.override).toEqual({ mode, reason: `pinned ${mode}`, expiresAt: h.now + 45_000 });
      back.tick(h.now + 45_000);
      expect(back.view(h.now + 45_000)).toMatchObject({ state: "closed", forced: false, version: 2 });
    }
    const held = machineHarness();
    held.machine.force("open", { reason: "until lifted" }, held.now);
    expect(roundTrip(held).view(held.now)).toMatchObject({ state: "open", forced: true, openUntil: undefined });
  });

  it("round-trips who forced a breaker (the caller's token name)", () => {
    const h = machineHarness();
    h.machine.force("open", { reason: "maintenance", by: "alice" }, h.now);
    expect(roundTrip(h).override).toEqual({ mode: "open", reason: "maintenance", expiresAt: undefined, by: "alice" });
  });

  it("refuse a malformed snapshot, naming the bad value's path", () => {
    const h = machineHarness();
    const good = JSON.parse(JSON.stringify(h.machine.toJSON(h.now)));
    const bad = (patch: object): unknown => {
      try {
        BreakerMachine.restore({ ...good, ...patch }, { config }, h.now);
      } catch (e) {
        return isBreakerSnapshotError(e) ? e.message : e;
      }
      return "restored";
    };
    expect(bad({ version: -1 })).toBe("breaker.version: must be an integer ≥ 0, got -1");
    expect(bad({ auto: { kind: "ajar" } })).toBe(
      'breaker.auto.kind: must be "closed", "open" or "half-open", got "ajar"',
    );
    expect(bad({ auto: { kind: "open" } })).toBe("breaker.auto.openUntil: must be a time in ms, got undefined");
    expect(bad({ override: { mode: "sideways", reason: "" } })).toBe(
      'breaker.override.mode: must be "open" or "closed", got "sideways"',
    );
    expect(bad({ window: { total: { buckets: [[1, 2]], consecutiveFailures: 0 }, instances: {} } })).toBe(
      "breaker.window.total.buckets[0]: must be [start, successes, failures, slow calls]",
    );
    expect(bad({ probes: { permits: [{ id: 1 }], next: 1 } })).toBe("breaker.probes.permits[0].id: must be a string");
    expect(bad({})).toBe("restored");
  });
});
