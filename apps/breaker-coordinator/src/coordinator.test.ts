import { describe, expect, it } from "vitest";
import { BreakerSet, createBreakerConfig } from "@breakwater/breaker";
import { Coordinator } from "./coordinator.js";
import { LocalFleetState } from "./local-fleet-state.js";

const BREAKER = "s3:http://storage.test:9000";
const HEARTBEAT_MS = 1_000;

/** A coordinator on a clock the test moves. */
function harness() {
  const clock = { t: 1_000_000, now: () => clock.t };
  const breakers = new BreakerSet({ resolveConfig: () => createBreakerConfig(), random: () => 0.5 });
  const coordinator = new Coordinator(new LocalFleetState(breakers), clock, HEARTBEAT_MS);
  const attach = (id: string) =>
    coordinator.attach(
      { instanceId: id, service: "cache-store", address: `${id}:50051`, breakers: [BREAKER] },
      () => undefined,
    ).link;
  const status = () =>
    Object.fromEntries(coordinator.instances().map((i) => [i.record.instanceId, i.live ? "live" : "stale"]));
  return { clock, coordinator, attach, status };
}

describe("Coordinator instance sweep (injected clock)", () => {
  it("marks an instance silent for 3 heartbeat intervals stale, then drops it and forgets its window", () => {
    const { clock, coordinator, attach, status } = harness();
    const quiet = attach("quiet");
    const chatty = attach("chatty");
    quiet.handle({
      kind: "report",
      counts: [{ breaker: BREAKER, successes: 0, failures: 2, slowCalls: 0, locallyOpen: false }],
    });
    expect(coordinator.describe(BREAKER)?.contributingInstances).toEqual(["quiet"]);
    const heartbeat = () => chatty.handle({ kind: "report", counts: [] });

    for (let s = 1; s < 3; s++) {
      clock.t += HEARTBEAT_MS;
      heartbeat();
      coordinator.tick();
    }
    expect(status()).toEqual({ quiet: "live", chatty: "live" }); // 2 intervals silent: still live
    clock.t += HEARTBEAT_MS;
    heartbeat();
    coordinator.tick();
    expect(status()).toEqual({ quiet: "stale", chatty: "live" }); // 3 intervals silent

    // Stale is listed, not dropped: until 20 intervals of silence (design.md "later dropped").
    while (clock.t + 100 < 1_000_000 + 20 * HEARTBEAT_MS) {
      clock.t += 100;
      if (clock.t % HEARTBEAT_MS === 0) heartbeat();
      coordinator.tick();
    }
    expect(Object.keys(status()).sort()).toEqual(["chatty", "quiet"]);
    clock.t = 1_000_000 + 20 * HEARTBEAT_MS;
    heartbeat();
    coordinator.tick();
    expect(status()).toEqual({ chatty: "live" });
    // Its own window is forgotten; the fleet's total keeps its calls (docs/operations.md "Instance liveness").
    const b = coordinator.describe(BREAKER)!;
    expect(b.contributingInstances).toEqual([]);
    expect(b.window.failures).toBe(2);
    // Its session was open all along: heard from again, it is listed again.
    quiet.handle({ kind: "report", counts: [] });
    expect(status()).toEqual({ chatty: "live", quiet: "live" });
  });

  it("lists an instance whose session ended as stale at once, and live again after a new hello", () => {
    const { coordinator, attach, status } = harness();
    attach("a").close();
    expect(status()).toEqual({ a: "stale" });
    attach("a");
    expect(status()).toEqual({ a: "live" });
    expect(coordinator.sessionCount).toBe(1);
  });

  it("a heartbeat keeps a connected instance live however long it runs", () => {
    const { clock, coordinator, attach, status } = harness();
    const a = attach("a");
    for (let s = 0; s < 100; s++) {
      clock.t += HEARTBEAT_MS;
      a.handle({ kind: "report", counts: [] });
      coordinator.tick();
    }
    expect(status()).toEqual({ a: "live" });
  });
});
