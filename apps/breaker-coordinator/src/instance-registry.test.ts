import { describe, expect, it } from "vitest";
import { InstanceRegistry } from "./instance-registry.js";

const hello = (id: string) => ({
  instanceId: id,
  service: "cache-store",
  address: "10.0.0.1:50051",
  breakers: ["s3:x"],
});

describe("InstanceRegistry", () => {
  it("marks an instance stale after 3 silent heartbeats and drops it later", () => {
    const reg = new InstanceRegistry({ heartbeatMs: 1000, dropAfter: 10 });
    const r = reg.hello(hello("a"), 0);
    expect(reg.isLive(r, 2999)).toBe(true);
    expect(reg.isLive(r, 3000)).toBe(false);
    reg.report("a", [], 3500); // a heartbeat revives it
    expect(reg.isLive(r, 4000)).toBe(true);
    expect(reg.sweep(13_499)).toEqual([]);
    expect(reg.sweep(13_500)).toEqual(["a"]);
    expect(reg.list()).toEqual([]);
  });

  it("adds up outcomes and tracks locally open breakers", () => {
    const reg = new InstanceRegistry({ heartbeatMs: 1000 });
    reg.hello(hello("a"), 0);
    reg.report("a", [{ breaker: "s3:x", successes: 3, failures: 2, locallyOpen: true }], 10);
    reg.report("a", [{ breaker: "s3:y", successes: 1, failures: 0, locallyOpen: false }], 20);
    const r = reg.get("a")!;
    expect([r.successes, r.failures]).toEqual([4, 2]);
    expect([...r.locallyOpen]).toEqual(["s3:x"]);
    expect(r.breakers).toEqual(["s3:x", "s3:y"]);
    reg.report("a", [{ breaker: "s3:x", successes: 1, failures: 0, locallyOpen: false }], 30);
    expect([...r.locallyOpen]).toEqual([]);
  });

  it("counts totals per session: a reconnect starts them again", () => {
    const reg = new InstanceRegistry({ heartbeatMs: 1000 });
    reg.hello(hello("a"), 0);
    reg.report("a", [{ breaker: "s3:x", successes: 5, failures: 1, locallyOpen: false }], 10);
    reg.disconnected("a");
    const r = reg.hello(hello("a"), 500);
    expect([r.successes, r.failures, r.connectedAt, r.connected]).toEqual([0, 0, 500, true]);
  });

  it("counts live users of a breaker, not disconnected ones", () => {
    const reg = new InstanceRegistry({ heartbeatMs: 1000 });
    reg.hello(hello("a"), 0);
    reg.hello(hello("b"), 0);
    reg.disconnected("b");
    expect(reg.liveUsers("s3:x", 100)).toEqual(["a"]);
  });

  it("refuses a bad heartbeat interval", () => {
    expect(() => new InstanceRegistry({ heartbeatMs: 0 })).toThrow(RangeError);
  });
});
