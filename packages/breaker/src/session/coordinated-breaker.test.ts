import { describe, expect, it } from "vitest";
import type { Admission, ProbeAdmission, RefusedAdmission } from "./admission.js";
import { clientHarness, type ClientHarness, NAME } from "./__fixtures__/client-harness.js";
import { DrivenTime } from "./__fixtures__/driven-time.js";
import { view } from "./__fixtures__/fake-transport.js";

/** Opens the fleet breaker by the coordinator's word, for `ms`. */
function fleetOpens(h: ClientHarness, ms = 30_000, version = 2): number {
  const until = h.time.now() + ms;
  h.transition("closed", "open", version, until);
  return until;
}

function grant(h: ClientHarness, permitId: string, leaseMs = 5_000): void {
  h.stream.deliver({
    kind: "probe-grant",
    grant: { breaker: NAME, granted: true, permitId, leaseExpiresAt: h.time.now() + leaseMs },
  });
}

function refuseProbe(h: ClientHarness): void {
  h.stream.deliver({
    kind: "probe-grant",
    grant: { breaker: NAME, granted: false, permitId: "", leaseExpiresAt: undefined },
  });
}

const probeRequests = (h: ClientHarness): number => h.stream.ofKind("probe-request").length;

describe("CoordinatedBreaker admission", () => {
  it("admits while closed with one shared answer (no allocation per call)", () => {
    const h = clientHarness();
    h.attach();
    const first = h.breaker.admit();
    expect(first).toEqual({ kind: "allowed", allowed: true });
    expect(h.breaker.admit()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it("refuses while the fleet is open, retryAfterMs counting down to open_until, one answer per open spell", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h, 30_000);
    const refused = h.breaker.admit();
    expect(refused).toMatchObject({ kind: "refused", allowed: false, state: "open", retryAfterMs: 30_000 });
    h.time.advance(10_000);
    expect(h.breaker.admit()).toBe(refused);
    expect((refused as RefusedAdmission).retryAfterMs).toBe(20_000);
    expect(h.breaker.state()).toBe("open");
  });

  it("opens locally under local failures while the fleet stays closed, and refuses for this process only", () => {
    const h = clientHarness();
    h.attach();
    h.fail(5);
    expect(h.breaker.fleetView?.state).toBe("closed");
    expect(h.breaker.locallyOpen).toBe(true);
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "open", retryAfterMs: 30_000 });
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: "transition", from: "closed", to: "open", source: "local" }),
    );
  });

  it("is only ever stricter than the fleet: a closed (even forced closed) fleet does not lift a local open", () => {
    const h = clientHarness();
    h.attach();
    h.fail(5);
    h.stream.deliver({
      kind: "transition",
      transition: {
        ...view(NAME, "closed", 2),
        forced: true,
        from: "closed",
        to: "closed",
        reason: "ops",
        at: h.time.now(),
      },
    });
    expect(h.breaker.admit().allowed).toBe(false);
  });

  it("is only ever stricter than the fleet: a fleet open refuses though this process saw no failure", () => {
    const h = clientHarness();
    h.attach();
    h.succeed(20);
    fleetOpens(h);
    expect(h.breaker.locallyOpen).toBe(false);
    expect(h.breaker.admit().allowed).toBe(false);
  });
});

describe("CoordinatedBreaker in the fleet's half-open", () => {
  it("refuses ordinary calls and asks for one probe permit however many calls come", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h, 30_000);
    h.time.advance(30_000);
    for (let i = 0; i < 100; i++)
      expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "half-open", retryAfterMs: 1_000 });
    expect(h.breaker.state()).toBe("half-open");
    expect(h.stream.ofKind("probe-request")).toEqual([{ kind: "probe-request", breaker: NAME }]);
  });

  it("hands a grant to the next admit as a probe admission; its record sends the probe result; then asks again", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.breaker.admit();
    grant(h, "p7");
    expect(h.events).toContainEqual(expect.objectContaining({ type: "probe", granted: true }));
    const probe = h.breaker.admit();
    expect(probe).toMatchObject({ kind: "probe", allowed: true, permitId: "p7", leaseExpiresAt: h.time.now() + 5_000 });
    // One probe of ours at a time: others are refused and nothing more is asked.
    expect(h.breaker.admit().kind).toBe("refused");
    expect(probeRequests(h)).toBe(1);
    h.breaker.record(true, 12, probe);
    expect(h.stream.ofKind("probe-result")).toEqual([
      { kind: "probe-result", breaker: NAME, permitId: "p7", success: true },
    ]);
    // A probe's outcome is not counted again in reports.
    h.time.advance(100);
    expect(
      h.stream
        .reports()
        .flat()
        .reduce((n, c) => n + c.successes, 0),
    ).toBe(0);
    h.breaker.admit();
    expect(probeRequests(h)).toBe(2);
  });

  it("waits after a refused probe before asking again (probeRetryMs, jittered)", () => {
    const h = clientHarness({}, { probeRetryMs: 400 });
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.breaker.admit();
    refuseProbe(h);
    expect(h.events).toContainEqual(expect.objectContaining({ type: "probe", granted: false }));
    h.time.advance(399); // 400 × (0.5 + random 0.5)
    h.breaker.admit();
    expect(probeRequests(h)).toBe(1);
    h.time.advance(1);
    h.breaker.admit();
    expect(probeRequests(h)).toBe(2);
  });

  it("lets a permit go that was not used within its lease, and asks again", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.breaker.admit();
    grant(h, "p1", 5_000);
    h.time.advance(5_000);
    expect(h.breaker.admit().kind).toBe("refused");
    expect(probeRequests(h)).toBe(2);
  });

  it("asks again when a request got no answer within a lease (lost on the way)", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.breaker.admit();
    h.time.advance(4_999);
    h.breaker.admit();
    expect(probeRequests(h)).toBe(1);
    h.time.advance(1);
    h.breaker.admit();
    expect(probeRequests(h)).toBe(2);
  });

  it("a failed probe's result goes back, and the fleet's re-open refuses everything", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.breaker.admit();
    grant(h, "p2");
    const probe = h.breaker.admit() as ProbeAdmission;
    h.breaker.record(false, 3, probe);
    expect(h.stream.ofKind("probe-result")[0]).toMatchObject({ permitId: "p2", success: false });
    h.transition("half-open", "open", 4, h.time.now() + 60_000);
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "open", retryAfterMs: 60_000 });
  });

  it("drops a held grant when the fleet moves on (a transition)", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.breaker.admit();
    grant(h, "p3");
    h.transition("half-open", "open", 3, h.time.now() + 30_000);
    h.time.advance(30_000);
    expect(h.breaker.admit().kind).toBe("refused");
  });

  it("does not ask while the session is down, and does not wait for it", () => {
    const h = clientHarness();
    h.attach();
    fleetOpens(h);
    h.time.advance(30_000);
    h.stream.fail();
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "half-open" });
    expect(h.transport.streams[0]!.ofKind("probe-request")).toHaveLength(0);
  });

  it("counts the fleet's probes toward closing a local breaker that is half-open too", () => {
    const h = clientHarness();
    h.attach();
    h.fail(5); // local opens for 30 s
    fleetOpens(h, 30_000);
    h.time.advance(30_000);
    let version = 3;
    for (let i = 0; i < 3; i++) {
      h.breaker.admit();
      grant(h, `p${i}`);
      const probe: Admission = h.breaker.admit();
      expect(probe.kind).toBe("probe");
      h.breaker.record(true, 5, probe);
    }
    expect(h.breaker.locallyOpen).toBe(false);
    h.transition("half-open", "closed", version++);
    expect(h.breaker.admit().allowed).toBe(true);
    expect(
      h.events
        .filter((e) => e.type === "transition" && e.source === "local")
        .map((e) => e.type === "transition" && e.to),
    ).toEqual(["open", "half-open", "closed"]);
  });

  it("keeps probe outcomes out of the local window: successes cannot trip it past minimum_requests", () => {
    const h = clientHarness();
    h.attach();
    h.succeed(3);
    // 8 calls, 4 failed: below the minimum
    for (const ok of [false, false, false, false, true]) h.breaker.record(ok, 5);
    fleetOpens(h);
    h.time.advance(30_000);
    for (let i = 0; i < 2; i++) {
      h.breaker.admit();
      grant(h, `p${i}`);
      h.breaker.record(true, 5, h.breaker.admit());
    }
    expect(h.breaker.locallyOpen).toBe(false);
  });

  it("when the fleet closes after its probes, a closed local breaker forgets the outage's failures", () => {
    const h = clientHarness();
    h.attach();
    // 5 of 6 failed, below the minimum
    for (const ok of [false, false, false, false, true, false]) h.breaker.record(ok, 5);
    fleetOpens(h);
    h.time.advance(30_000);
    h.transition("open", "half-open", 3);
    h.transition("half-open", "closed", 4);
    h.succeed(4); // without the reset: 10 calls, 5 failed — a failure rate of 0.5 would trip it
    expect(h.breaker.locallyOpen).toBe(false);
    expect(h.events.filter((e) => e.type === "transition" && e.source === "local")).toEqual([]);
  });

  it("a local half-open (fleet closed) admits local probes by itself, one at a time", () => {
    const h = clientHarness();
    h.attach();
    h.fail(5);
    h.time.advance(30_000);
    expect(h.breaker.admit().allowed).toBe(true);
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "half-open" });
    expect(probeRequests(h)).toBe(0);
  });
});

describe("CoordinatedBreaker clock reads on the request path", () => {
  it("admits without reading the clock while closed, attached or detached past a known open state", () => {
    let reads = 0;
    const time = new DrivenTime();
    const h = clientHarness({}, { clock: { now: () => (reads++, time.now()) }, recordClockResolutionMs: 0 }, time);
    h.attach();
    reads = 0;
    for (let i = 0; i < 10; i++) h.breaker.admit();
    expect(reads).toBe(0);
    h.transition("closed", "open", 2, h.time.now() + 1_000);
    reads = 0;
    h.breaker.admit(); // open: the time decides
    expect(reads).toBe(1);
    h.stream.fail();
    h.transport.failOpen = true;
    h.time.advance(2_000); // detached; the open state expired meanwhile
    h.breaker.admit(); // one read settles that the old view stands for nothing now
    reads = 0;
    for (let i = 0; i < 10; i++) expect(h.breaker.admit().allowed).toBe(true);
    expect(reads).toBe(0);
  });
});
