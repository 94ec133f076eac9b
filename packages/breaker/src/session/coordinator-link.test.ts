import { describe, expect, it } from "vitest";
import { DrivenTime } from "./__fixtures__/driven-time.js";
import { FakeTransport, view } from "./__fixtures__/fake-transport.js";
import { CoordinatorLink, type CoordinatorLinkHandlers, type SessionStart } from "./coordinator-link.js";

const hello = {
  instanceId: "i1",
  service: "gateway",
  address: "i1:8080",
  breakers: ["cache-store:a:1", "cache-store:b:1"],
};

function link(options: { detachAfterMs?: number; random?: () => number; replicas?: readonly string[] } = {}) {
  const time = new DrivenTime();
  const transport = new FakeTransport();
  if (options.replicas !== undefined) transport.replicaNames = options.replicas;
  const seen: string[] = [];
  const delays: number[] = [];
  const starts: SessionStart[] = [];
  const handlers: CoordinatorLinkHandlers = {
    onSnapshot: (views, _heartbeat, _members, session) => {
      seen.push(`snapshot ${views.length}`);
      starts.push(session);
    },
    onTransition: (t) => seen.push(`transition ${t.name}`),
    onProbeGrant: (g) => seen.push(`grant ${g.breaker}`),
    onMembers: (m) => seen.push(`members ${m.version}`),
    onDisconnected: (_err, retryInMs) => {
      seen.push("disconnected");
      delays.push(retryInMs);
    },
    onDetached: () => seen.push(`detached at +${time.now() - start}`),
  };
  const start = time.now();
  const l = new CoordinatorLink({
    transport,
    hello,
    clock: time,
    timers: time,
    random: options.random ?? (() => 0.5),
    detachAfterMs: options.detachAfterMs ?? 2_000,
    handlers,
  });
  return { time, transport, seen, delays, starts, link: l };
}

describe("CoordinatorLink", () => {
  it("says hello first and counts as connected once the snapshot arrives", () => {
    const t = link();
    t.link.start();
    expect(t.transport.last.sent).toEqual([{ kind: "hello", hello }]);
    expect(t.link.connected).toBe(false);
    expect(t.link.send({ kind: "report", counts: [] })).toBe(false);
    t.transport.last.snapshot([view("cache-store:a:1", "closed", 1)]);
    expect(t.link.connected).toBe(true);
    expect(t.link.send({ kind: "report", counts: [] })).toBe(true);
    t.transport.last.deliver({
      kind: "probe-grant",
      grant: { breaker: "x", granted: false, permitId: "", leaseExpiresAt: undefined },
    });
    expect(t.seen).toEqual(["snapshot 1", "grant x"]);
  });

  it("reconnects with a growing, jittered, capped backoff while the coordinator is unreachable", () => {
    const t = link({ detachAfterMs: 60_000 });
    t.transport.failOpen = true;
    t.link.start();
    t.time.advance(20_000);
    expect(t.delays.slice(0, 9)).toEqual([75, 150, 300, 600, 1_200, 2_400, 3_750, 3_750, 3_750]);
    t.transport.failOpen = false;
    t.time.advance(3_750);
    t.transport.last.snapshot([]);
    // Back to the first delay after a session came up.
    t.transport.last.fail();
    expect(t.delays.at(-1)).toBe(75);
  });

  it("detaches after detach_after without a session, and not before", () => {
    const t = link();
    t.link.start();
    t.transport.last.snapshot([]);
    t.time.advance(10_000);
    t.transport.last.fail();
    t.transport.failOpen = true;
    t.time.advance(1_999);
    expect(t.link.detached).toBe(false);
    t.time.advance(1);
    expect(t.link.detached).toBe(true);
    expect(t.seen.filter((s) => s.startsWith("detached"))).toEqual(["detached at +12000"]);
    t.transport.failOpen = false;
    t.time.advance(1_500); // the 5th reconnect (1200 ms after the 4th) dials at +12325
    expect(t.transport.last.ended).toBe(false);
    t.transport.last.snapshot([]);
    expect(t.link.detached).toBe(false);
    expect(t.link.connected).toBe(true);
  });

  it("detaches when the first session never comes up", () => {
    const t = link({ detachAfterMs: 500 });
    t.transport.failOpen = true;
    t.link.start();
    t.time.advance(500);
    expect(t.seen.filter((s) => s.startsWith("detached"))).toEqual(["detached at +500"]);
  });

  it("drops a stream whose snapshot does not come within detach_after, and dials again", () => {
    const t = link({ detachAfterMs: 1_000 });
    t.link.start();
    t.time.advance(1_000);
    expect(t.transport.streams[0]!.closedByClient).toBe(true);
    expect(t.seen).toEqual(["detached at +1000", "disconnected"]);
    t.time.advance(75);
    expect(t.transport.streams).toHaveLength(2);
  });

  it("ignores a stream that ended (its late events) and forwards transitions only while connected", () => {
    const t = link();
    t.link.start();
    const first = t.transport.last;
    first.deliver({
      kind: "transition",
      transition: { ...view("a", "open", 2), from: "closed", to: "open", reason: "", at: 0 },
    });
    expect(t.seen).toEqual([]);
    first.snapshot([]);
    first.fail();
    t.time.advance(75);
    expect(t.transport.streams).toHaveLength(2);
    expect(t.link.connected).toBe(false);
  });

  it("close() ends the stream and every timer; nothing reconnects", () => {
    const t = link();
    t.link.start();
    t.transport.last.snapshot([]);
    t.transport.last.fail();
    t.link.close();
    expect(t.time.timers).toBe(0);
    t.time.advance(60_000);
    expect(t.transport.streams).toHaveLength(1);
    expect(t.seen).toEqual(["snapshot 0", "disconnected"]);
  });

  it("rejects a detach_after that is not positive", () => {
    expect(() => link({ detachAfterMs: 0 })).toThrow(RangeError);
  });
});

describe("CoordinatorLink with a transport that throws", () => {
  it("treats a throwing open as a failed attempt: told, and retried with backoff", () => {
    const time = new DrivenTime();
    const errors: unknown[] = [];
    let opens = 0;
    const l = new CoordinatorLink({
      transport: {
        replicas: () => ["coordinator"],
        open() {
          opens++;
          throw new Error("bad target");
        },
      },
      hello,
      clock: time,
      timers: time,
      random: () => 0.5,
      detachAfterMs: 2_000,
      handlers: {
        onSnapshot() {},
        onTransition() {},
        onProbeGrant() {},
        onMembers() {},
        onDisconnected: (e) => errors.push(e),
        onDetached() {},
      },
    });
    l.start();
    time.advance(225);
    expect(opens).toBe(3); // at 0, +75, +225
    expect(errors[0]).toMatchObject({ message: "bad target" });
    l.close();
  });
});

describe("CoordinatorLink over several coordinator replicas", () => {
  const replicas = ["http://r1:1", "http://r2:1", "http://r3:1"];

  it("opens on a replica drawn at random, and on losing it opens on another at once, within detach_after", () => {
    const t = link({ replicas, random: () => 0.5, detachAfterMs: 2_000 });
    t.link.start();
    expect(t.transport.openedOn).toEqual(["http://r2:1"]);
    t.transport.last.snapshot([]);
    expect(t.starts).toEqual([{ replica: "http://r2:1", withoutSessionMs: undefined }]);
    t.time.advance(10_000);
    t.transport.down.add("http://r2:1");
    t.transport.last.fail();
    expect(t.delays).toEqual([0]); // no backoff: another replica may answer now
    t.time.advance(0);
    expect(t.transport.openedOn).toEqual(["http://r2:1", "http://r3:1"]); // not r2 again
    t.time.advance(40); // the new replica's snapshot takes 40 ms
    t.transport.last.snapshot([]);
    expect(t.link.connected).toBe(true);
    expect(t.link.detached).toBe(false);
    expect(t.starts.at(-1)).toEqual({ replica: "http://r3:1", withoutSessionMs: 40 });
    expect(t.seen.filter((s) => s.startsWith("detached"))).toEqual([]);
    // The hello on the new replica is the same: the instance resumes where it was.
    expect(t.transport.last.sent[0]).toEqual({ kind: "hello", hello });
  });

  it("tries every replica once without waiting, backs off only when all have failed, and detaches", () => {
    const t = link({ replicas, random: () => 0, detachAfterMs: 2_000 });
    t.link.start();
    t.transport.last.snapshot([]);
    for (const r of replicas) t.transport.down.add(r);
    const lostAt = t.time.now();
    t.transport.last.fail();
    t.time.advance(0);
    // r1 lost; r2 and r3 refused at once; then the backoff (with random 0, half of 100 ms, doubling).
    expect(t.transport.openedOn.slice(0, 3)).toEqual(["http://r1:1", "http://r2:1", "http://r3:1"]);
    expect(t.delays.slice(0, 3)).toEqual([0, 0, 50]);
    t.time.advance(2_000);
    expect(t.link.detached).toBe(true);
    expect(t.seen.filter((s) => s.startsWith("detached"))).toEqual(["detached at +2000"]);
    // Each round tries all three, and waits (growing) only between rounds.
    expect(t.delays.filter((d) => d > 0).slice(0, 4)).toEqual([50, 100, 200, 400]);
    expect(t.delays.filter((d) => d === 0).length).toBe(2 * t.delays.filter((d) => d > 0).length);
    // One replica back: a later round (at most the capped wait away, 2.5 s with random 0) dials it.
    t.transport.down.delete("http://r2:1");
    const backAt = t.time.now();
    while (t.transport.last.ended && t.time.now() - backAt < 2_500) t.time.advance(10);
    expect(t.transport.openedOn.at(-1)).toBe("http://r2:1");
    expect(t.transport.last.ended).toBe(false);
    t.transport.last.snapshot([]);
    expect(t.link.detached).toBe(false);
    expect(t.starts.at(-1)!.replica).toBe("http://r2:1");
    expect(t.starts.at(-1)!.withoutSessionMs).toBe(t.time.now() - lostAt);
    expect(t.time.now() - lostAt).toBeGreaterThan(2_000);
  });

  it("drops a replica whose snapshot does not come within half of detach_after, so another takes over in time", () => {
    const t = link({ replicas, random: () => 0, detachAfterMs: 2_000 });
    t.link.start();
    expect(t.transport.openedOn).toEqual(["http://r1:1"]); // it hangs: no snapshot, no error
    t.time.advance(999);
    expect(t.transport.streams[0]!.closedByClient).toBe(false);
    t.time.advance(1);
    expect(t.transport.streams[0]!.closedByClient).toBe(true);
    expect(t.delays).toEqual([0]);
    t.time.advance(0);
    expect(t.transport.openedOn).toEqual(["http://r1:1", "http://r2:1"]);
    t.time.advance(30);
    t.transport.last.snapshot([]);
    expect(t.link.connected).toBe(true);
    expect(t.seen.filter((s) => s.startsWith("detached"))).toEqual([]);
  });
});
