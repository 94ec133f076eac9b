import { describe, expect, it } from "vitest";
import { type MachineHarness, machineHarness } from "./__fixtures__/machine-harness.js";
import type { ProbePermit } from "./probe-leases.js";

/** Opens the breaker and lets its open time pass, so it is half-open. */
function halfOpen(h: MachineHarness): void {
  h.fail(5);
  h.now = h.machine.openUntil ?? h.now;
  h.machine.tick(h.now);
  expect(h.machine.state).toBe("half-open");
}

function probe(h: MachineHarness, holder = "i1"): ProbePermit {
  const answer = h.machine.acquireProbe(holder, h.now);
  if (!answer.granted) throw new Error(`refused: ${answer.why}`);
  return answer;
}

describe("BreakerMachine: half-open probes", () => {
  it("grants at most half_open_max_probes across the fleet: 5 holders ask at once, 1 is granted", () => {
    const h = machineHarness();
    halfOpen(h);
    const answers = ["a", "b", "c", "d", "e"].map((holder) => h.machine.acquireProbe(holder, h.now));
    expect(answers.filter((a) => a.granted)).toHaveLength(1);
    expect(answers[0]).toEqual({ granted: true, id: "p1", holder: "a", expiresAt: h.now + 5_000 });
    expect(answers.slice(1)).toEqual(Array(4).fill({ granted: false, why: "busy", retryAfterMs: 5_000 }));
    expect(h.machine.probesInFlight(h.now)).toBe(1);
  });

  it("honours a larger half_open_max_probes", () => {
    const h = machineHarness({ halfOpenMaxProbes: 2 });
    halfOpen(h);
    const granted = ["a", "b", "c"].map((holder) => h.machine.acquireProbe(holder, h.now).granted);
    expect(granted).toEqual([true, true, false]);
  });

  it("frees a permit whose lease expired, so a vanished holder cannot keep it stuck", () => {
    const h = machineHarness();
    halfOpen(h);
    const lost = probe(h, "vanished");
    h.advance(4_999);
    expect(h.machine.acquireProbe("b", h.now)).toMatchObject({ granted: false, why: "busy", retryAfterMs: 1 });
    h.advance(1);
    expect(h.machine.nextChangeAt).toBe(h.now);
    expect(h.machine.acquireProbe("b", h.now)).toMatchObject({ granted: true, holder: "b" });
    // The lapsed permit's late answer is ignored.
    expect(h.machine.completeProbe(lost.id, false, h.now)).toBe(false);
    expect(h.machine.state).toBe("half-open");
  });

  it("closes after success_threshold probe successes, then counts afresh", () => {
    const h = machineHarness();
    halfOpen(h);
    for (let i = 1; i <= 2; i++) {
      expect(h.machine.completeProbe(probe(h).id, true, h.now)).toBe(true);
      expect(h.machine.halfOpenSuccesses).toBe(i);
      expect(h.machine.state).toBe("half-open");
    }
    h.machine.completeProbe(probe(h).id, true, h.now);
    expect(h.machine.state).toBe("closed");
    expect(h.machine.reason).toBe("3 probes succeeded");
    expect(h.machine.outcomes.total.calls).toBe(0); // the window starts clean
    h.fail(4);
    expect(h.machine.state).toBe("closed");
  });

  it("re-opens on one probe failure with a doubled open time, capped at max_open_timeout", () => {
    const h = machineHarness();
    halfOpen(h);
    const opens: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.machine.completeProbe(probe(h).id, false, h.now);
      expect(h.machine.state).toBe("open");
      opens.push((h.machine.openUntil ?? 0) - h.now);
      h.now = h.machine.openUntil ?? h.now;
      h.machine.tick(h.now);
    }
    expect(opens).toEqual([60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
    expect(h.machine.reopenCount).toBe(6);
    expect(h.events.at(-1)?.reason).toBe("open time over; probing");
  });

  it("resets the backoff after a clean close", () => {
    const h = machineHarness();
    halfOpen(h);
    h.machine.completeProbe(probe(h).id, false, h.now); // re-open: 60 s
    h.now = h.machine.openUntil ?? h.now;
    for (let i = 0; i < 3; i++) h.machine.completeProbe(probe(h).id, true, h.now);
    expect(h.machine.state).toBe("closed");
    expect(h.machine.reopenCount).toBe(0);
    h.fail(5);
    expect((h.machine.openUntil ?? 0) - h.now).toBe(30_000);
  });

  it("refuses probes when none is needed or not yet allowed, saying when to ask again", () => {
    const h = machineHarness();
    expect(h.machine.acquireProbe("a", h.now)).toEqual({ granted: false, why: "closed", retryAfterMs: undefined });
    h.fail(5);
    h.advance(10_000);
    expect(h.machine.acquireProbe("a", h.now)).toEqual({ granted: false, why: "open", retryAfterMs: 20_000 });
  });

  it("ignores unknown permits and permits of an earlier half-open spell", () => {
    const h = machineHarness();
    halfOpen(h);
    const old = probe(h);
    h.machine.completeProbe(old.id, false, h.now);
    h.now = h.machine.openUntil ?? h.now;
    h.machine.tick(h.now);
    expect(h.machine.completeProbe(old.id, true, h.now)).toBe(false);
    expect(h.machine.completeProbe("nope", true, h.now)).toBe(false);
    expect(h.machine.halfOpenSuccesses).toBe(0);
  });

  it("does not let ordinary outcomes close or re-open a half-open breaker", () => {
    const h = machineHarness();
    halfOpen(h);
    h.fail(10);
    h.succeed(10);
    expect(h.machine.state).toBe("half-open");
  });
});
