import { describe, expect, it } from "vitest";
import { createBreakerConfig, parseBreakerConfigFile } from "../index.js";
import { createBreakerClient } from "./breaker-client.js";
import { clientHarness, NAME } from "./__fixtures__/client-harness.js";
import { DrivenTime } from "./__fixtures__/driven-time.js";
import { FakeTransport, view } from "./__fixtures__/fake-transport.js";

describe("breaker client: detached mode", () => {
  it("keeps a known fleet open state until it expires, then lets local breakers decide alone", () => {
    const h = clientHarness();
    h.attach();
    const until = h.time.now() + 10_000;
    h.transition("closed", "open", 2, until);
    h.stream.fail();
    h.transport.failOpen = true;
    h.time.advance(2_000);
    expect(h.client.detached).toBe(true);
    expect(h.breaker.detached).toBe(true);
    expect(h.events.map((e) => e.type)).toContain("detached");
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "open", retryAfterMs: 8_000 });
    h.time.advance(7_999);
    expect(h.breaker.admit().allowed).toBe(false);
    h.time.advance(1);
    // No coordinator to grant probes: past open_until the view stands for nothing.
    expect(h.breaker.admit()).toBe(h.breaker.admit());
    expect(h.breaker.admit().kind).toBe("allowed");
    expect(h.breaker.state()).toBe("closed");
  });

  it("protects itself with the local breaker while detached, same semantics", () => {
    const h = clientHarness();
    h.transport.failOpen = true;
    h.time.advance(2_000);
    expect(h.client.detached).toBe(true);
    h.fail(5);
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "open", retryAfterMs: 30_000 });
    h.time.advance(30_000);
    expect(h.breaker.admit().kind).toBe("allowed"); // a local probe
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "half-open" });
  });

  it("on return reports what it saw and adopts the coordinator's view, whatever its version", () => {
    const h = clientHarness();
    h.attach();
    h.transition("closed", "open", 9, h.time.now() + 60_000);
    h.stream.fail();
    h.time.advance(2_000);
    h.succeed(4);
    h.fail(1);
    h.time.advance(1_000);
    // The coordinator came back with older state (say, its file was lost): its word wins.
    const stream = h.attach([view(NAME, "closed", 3)]);
    expect(h.client.detached).toBe(false);
    expect(h.client.connected).toBe(true);
    expect(h.breaker.admit().kind).toBe("allowed");
    expect(stream.reports()[0]).toEqual([
      { breaker: NAME, successes: 4, failures: 1, slowCalls: 0, locallyOpen: false },
    ]);
    expect(h.events.filter((e) => e.type !== "disconnected").slice(-3)).toEqual([
      { type: "detached", at: expect.any(Number) },
      {
        type: "transition",
        breaker: NAME,
        from: "open",
        to: "closed",
        source: "fleet",
        reason: "snapshot",
        at: h.time.now(),
      },
      { type: "attached", at: h.time.now(), afterDetach: true, replica: "coordinator", withoutSessionMs: 3_000 },
    ]);
  });

  it("on return adopts an open fleet view too, refusing at once", () => {
    const h = clientHarness();
    h.transport.failOpen = true;
    h.time.advance(3_000);
    h.dialBack();
    h.attach([view(NAME, "open", 4, h.time.now() + 5_000)]);
    expect(h.breaker.admit()).toMatchObject({ kind: "refused", state: "open", retryAfterMs: 5_000 });
  });

  it("never waits on the coordinator: calls are admitted before any session came up", () => {
    const h = clientHarness();
    expect(h.client.connected).toBe(false);
    expect(h.breaker.admit().allowed).toBe(true);
    h.succeed(1);
  });
});

describe("breaker client: wiring", () => {
  it("says hello with the instance and every breaker", () => {
    const h = clientHarness();
    expect(h.stream.sent[0]).toEqual({
      kind: "hello",
      hello: { instanceId: "i1", service: "cache-store", address: "i1:50051", breakers: [NAME] },
    });
  });

  it("ignores transitions and grants of breakers it does not use, and older transitions", () => {
    const h = clientHarness();
    h.attach([view(NAME, "closed", 5)]);
    h.stream.deliver({
      kind: "transition",
      transition: {
        ...view("s3:other", "open", 2, h.time.now() + 1_000),
        from: "closed",
        to: "open",
        reason: "",
        at: 0,
      },
    });
    h.stream.deliver({
      kind: "probe-grant",
      grant: { breaker: "s3:other", granted: true, permitId: "p1", leaseExpiresAt: h.time.now() + 1 },
    });
    h.transition("closed", "open", 4, h.time.now() + 1_000);
    expect(h.breaker.admit().allowed).toBe(true);
    expect(h.breaker.fleetView?.version).toBe(5);
  });

  it("uses the heartbeat interval of the config when the snapshot has none", () => {
    const h = clientHarness({ heartbeatIntervalMs: 300, detachAfterMs: 900 });
    const stream = h.stream;
    stream.deliver({ kind: "snapshot", views: [], heartbeatMs: undefined });
    h.time.advance(600);
    expect(stream.reports()).toHaveLength(3);
  });

  it("takes detach_after from the breakers' configs (the smallest) unless given", () => {
    const time = new DrivenTime();
    const transport = new FakeTransport();
    transport.failOpen = true;
    const set = parseBreakerConfigFile(
      'backends:\n  "s3:a":\n    detach_after: 700ms\n    heartbeat_interval: 100ms\n',
    );
    const client = createBreakerClient({
      instanceId: "i",
      service: "s",
      address: "a",
      breakers: ["s3:a", "s3:b"],
      config: set,
      clock: time,
      timers: time,
      random: () => 0.5,
      transport,
    });
    client.start();
    time.advance(699);
    expect(client.detached).toBe(false);
    time.advance(1);
    expect(client.detached).toBe(true);
    client.close();
    expect(time.timers).toBe(0);
  });

  it("a listener that throws does not break admission", () => {
    const h = clientHarness(
      {},
      {
        onEvent: () => {
          throw new Error("bad listener");
        },
      },
    );
    h.attach();
    h.fail(5);
    expect(h.breaker.admit().allowed).toBe(false);
  });

  it("close() ends the session and leaves no timer; the breakers keep answering", () => {
    const h = clientHarness();
    h.attach();
    h.succeed(1);
    h.client.close();
    expect(h.stream.closedByClient).toBe(true);
    expect(h.time.timers).toBe(0);
    expect(h.breaker.admit().allowed).toBe(true);
  });

  it("opens no session before start(), then one; a transport factory gets the session's timing", () => {
    const transport = new FakeTransport();
    const timings: unknown[] = [];
    const client = createBreakerClient({
      instanceId: "i",
      service: "s",
      address: "a",
      breakers: ["s3:a"],
      config: () => createBreakerConfig({ detachAfterMs: 1_800 }),
      timers: new DrivenTime(),
      transport: (timing) => {
        timings.push(timing);
        return transport;
      },
    });
    expect(transport.streams).toHaveLength(0);
    client.start();
    expect(transport.streams).toHaveLength(1);
    expect(timings).toEqual([{ detachAfterMs: 1_800, reconnectMaxMs: 5_000 }]);
    client.close();
  });

  it("rejects unknown names and bad options with a RangeError naming the value", () => {
    const h = clientHarness();
    expect(() => h.client.breaker("s3:nope")).toThrow(/no breaker named "s3:nope"/);
    const base = {
      instanceId: "i",
      service: "s",
      address: "a",
      config: () => createBreakerConfig(),
      transport: new FakeTransport(),
    };
    expect(() => createBreakerClient({ ...base, breakers: [] })).toThrow(/at least one breaker/);
    expect(() => createBreakerClient({ ...base, breakers: ["a", "a"] })).toThrow(/"a" is named twice/);
    expect(() => createBreakerClient({ ...base, breakers: [""] })).toThrow(/non-empty/);
  });
});
