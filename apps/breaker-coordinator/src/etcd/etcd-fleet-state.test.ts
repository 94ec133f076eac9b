import { afterEach, describe, expect, it } from "vitest";
import { createBreakerConfig, type BreakerTransition, type ProbeAnswer } from "@breakwater/breaker";
import type { RemoteInstance } from "../fleet-state.js";
import type { InstanceRecord } from "../instance-registry.js";
import { MemoryFleetStore } from "./__fixtures__/memory-fleet-store.js";
import { EtcdFleetState } from "./etcd-fleet-state.js";
import { fleetKeys } from "./fleet-keys.js";

const NAME = "s3:http://storage.test:9000";
const FLUSH_MS = 200;
const config = createBreakerConfig({
  minimumRequests: 15,
  consecutiveFailures: 100,
  openTimeoutMs: 1_000,
  openJitter: 0,
  halfOpenMaxProbes: 2,
  probeLeaseMs: 2_000,
});

/** Replicas over one in-memory etcd, on a clock the test moves; each replica's transitions kept. */
function fleetOf(replicas: number) {
  const clock = { t: 10_000_000, now: () => clock.t };
  const store = new MemoryFleetStore();
  const heard: BreakerTransition[][] = [];
  const states = [...Array(replicas).keys()].map((n) => {
    const state = new EtcdFleetState({
      store,
      keys: fleetKeys("/t/"),
      replicaId: `r${n}`,
      resolveConfig: () => config,
      clock,
      random: () => 0.5,
      leaseTtlSeconds: 2,
      flushMs: FLUSH_MS,
      lostAfterMs: 3_000,
      checkEveryMs: 3_600_000, // the availability check is not under test here
    });
    heard.push([]);
    state.onTransition((t) => heard[n]!.push(t));
    return state;
  });
  return { clock, store, heard, states };
}

/** Lets every pending store call and watch delivery run (the store answers on microtasks and immediates). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

let open: EtcdFleetState[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function started(replicas: number) {
  const f = fleetOf(replicas);
  open = f.states;
  await Promise.all(f.states.map((s) => s.start()));
  return f;
}

const summary = (h: BreakerTransition[]) => h.map((t) => `${t.version}:${t.to}${t.forced ? "(forced)" : ""}`);

describe("EtcdFleetState: replicas over one etcd (injected clock, in-memory store)", () => {
  it("shows a force committed by one replica on the other, and both push it once with one version", async () => {
    const { states, heard, clock } = await started(2);
    const [a, b] = states;
    const forced = await a!.force(NAME, "open", "maintenance", 60_000, clock.now());
    expect([forced.state, forced.version, forced.forced]).toEqual(["open", 1, true]);
    await settle();
    expect(b!.describe(NAME, clock.now())).toMatchObject({ state: "open", version: 1, reason: "maintenance" });
    expect(heard.map(summary)).toEqual([["1:open(forced)"], ["1:open(forced)"]]);
    expect(b!.views()).toEqual([{ name: NAME, state: "open", version: 1, openUntil: clock.t + 60_000, forced: true }]);
  });

  it("never lets two replicas both decide: concurrent forces get versions 1 and 2, heard alike", async () => {
    const { states, heard, clock } = await started(2);
    const [a, b] = states;
    const forced = await Promise.all([
      a!.force(NAME, "open", "by a", undefined, clock.now()),
      b!.force(NAME, "closed", "by b", undefined, clock.now()),
    ]);
    expect(forced.map((d) => d.version).sort()).toEqual([1, 2]);
    await settle();
    expect(heard[0]!.map((t) => [t.version, t.reason])).toEqual(heard[1]!.map((t) => [t.version, t.reason]));
    expect(heard[0]!.map((t) => t.version)).toEqual([1, 2]);
    const last = forced.find((d) => d.version === 2)!;
    expect(a!.describe(NAME, clock.now())).toMatchObject({ version: 2, reason: last.reason });
  });

  it("opens on a window only the replicas' summaries together trip, once", async () => {
    const { states, heard, clock } = await started(3);
    states.forEach((s) => s.ensure([NAME]));
    await settle();
    // 6 failures on each replica: under minimum_requests (15) alone, 18 together.
    states.forEach((s, n) => s.record(`i${n}`, NAME, { successes: 0, failures: 6 }, clock.now()));
    await settle();
    expect(heard.flat()).toEqual([]);
    clock.t += FLUSH_MS;
    states.forEach((s) => s.tick(clock.now()));
    await settle();
    expect(heard.map(summary)).toEqual([["1:open"], ["1:open"], ["1:open"]]);
    const details = states[2]!.describe(NAME, clock.now())!;
    expect(details.contributingInstances).toEqual(["i0", "i1", "i2"]);
  });

  it("commits open → half-open once though every replica's tick sees it due, then grants 2 of 5 probes", async () => {
    const { states, heard, clock } = await started(2);
    const [a, b] = states;
    await a!.force(NAME, "open", "drain", 1_000, clock.now());
    await settle();
    clock.t += 1_000;
    a!.tick(clock.now());
    b!.tick(clock.now());
    await settle();
    expect(heard.map(summary)).toEqual([
      ["1:open(forced)", "2:closed"],
      ["1:open(forced)", "2:closed"],
    ]);

    // Opened automatically, its open time over: half-open on a tick, and probes asked of both replicas at once.
    states.forEach((s, n) => s.record(`i${n}`, NAME, { successes: 0, failures: 10 }, clock.now()));
    clock.t += FLUSH_MS;
    states.forEach((s) => s.tick(clock.now()));
    await settle();
    expect(summary(heard[0]!).at(-1)).toBe("3:open");
    clock.t += 1_000;
    states.forEach((s) => s.tick(clock.now()));
    await settle();
    expect(heard.map((h) => summary(h).at(-1))).toEqual(["4:half-open", "4:half-open"]);
    const answers: ProbeAnswer[] = await Promise.all(
      [a, b, a, b, a].map((s, n) => s!.acquireProbe(NAME, `i${n}`, clock.now())),
    );
    expect(answers.filter((x) => x.granted)).toHaveLength(2);
    expect(new Set(answers.flatMap((x) => (x.granted ? [x.id] : []))).size).toBe(2);
  });

  it("closes after successful probes returned through either replica, then refuses probes (closed)", async () => {
    const { states, heard, clock } = await started(2);
    const [a, b] = states;
    states.forEach((s, n) => s.record(`i${n}`, NAME, { successes: 0, failures: 10 }, clock.now()));
    clock.t += FLUSH_MS;
    states.forEach((s) => s.tick(clock.now()));
    await settle();
    clock.t += 1_000;
    a!.tick(clock.now());
    await settle();
    const successes = config.successThreshold;
    for (let n = 0; n < successes; n++) {
      const permit = await a!.acquireProbe(NAME, "i0", clock.now());
      if (!permit.granted) throw new Error(`probe ${n} refused: ${permit.why}`);
      (n % 2 === 0 ? b : a)!.completeProbe(NAME, permit.id, true, clock.now());
      await settle();
    }
    expect(heard.map((h) => summary(h))).toEqual([
      ["1:open", "2:half-open", "3:closed"],
      ["1:open", "2:half-open", "3:closed"],
    ]);
    expect(await b!.acquireProbe(NAME, "i1", clock.now())).toMatchObject({ granted: false, why: "closed" });
  });

  it("keeps one key per replica and instance: a moved instance's old record cannot hide the new", async () => {
    const { states, clock } = await started(3);
    const [a, b, c] = states;
    const record = (connectedAt: number): InstanceRecord => ({
      instanceId: "i1",
      service: "cache-store",
      address: "10.0.0.1:50051",
      breakers: [NAME],
      connectedAt,
      lastSeen: connectedAt,
      successes: 0,
      failures: 0,
      locallyOpen: new Set(),
      connected: true,
    });
    let onA: RemoteInstance[] = [{ record: record(clock.t), live: true }];
    a!.publishInstances(() => onA);
    const flush = async (): Promise<void> => {
      clock.t += FLUSH_MS;
      states.forEach((s) => s.tick(clock.now()));
      await settle();
    };
    await flush();
    expect(c!.remoteInstances().map((r) => [r.record.instanceId, r.live])).toEqual([["i1", true]]);
    // i1 moves to b; a still holds it as stale, then forgets it.
    b!.publishInstances(() => [{ record: record(clock.t), live: true }]);
    onA = [{ record: record(clock.t - FLUSH_MS), live: false }];
    await flush();
    expect(
      c!
        .remoteInstances()
        .map((r) => r.live)
        .sort(),
    ).toEqual([false, true]);
    onA = [];
    await flush();
    expect(c!.remoteInstances().map((r) => [r.record.instanceId, r.live])).toEqual([["i1", true]]);
  });
});
