import { describe, expect, it } from "vitest";
import { clientHarness, NAME } from "./__fixtures__/client-harness.js";
import { view } from "./__fixtures__/fake-transport.js";

const JOINED = "cache-store:d:50051";

describe("breaker client: breakers added at run time", () => {
  it("starts an added breaker from the fleet's view the coordinator sent (snapshot, then transitions)", () => {
    const h = clientHarness();
    h.attach([view(NAME, "closed", 1), view(JOINED, "open", 3, h.time.now() + 5_000)]);
    expect(() => h.client.breaker(JOINED)).toThrow(RangeError);
    h.client.addBreakers([JOINED]);
    expect(h.client.breaker(JOINED).admit()).toMatchObject({ kind: "refused", state: "open", retryAfterMs: 5_000 });
    // A transition of a breaker not in use yet is kept for when it is added.
    const other = "cache-store:e:50051";
    h.stream.deliver({
      kind: "transition",
      transition: { ...view(other, "open", 2, h.time.now() + 7_000), from: "closed", to: "open", reason: "t", at: 0 },
    });
    h.client.addBreakers([other, JOINED]);
    expect(h.client.breaker(other).admit()).toMatchObject({ kind: "refused", retryAfterMs: 7_000 });
  });

  it("reports an added breaker's outcomes and names it in the next hello", () => {
    const h = clientHarness();
    h.attach();
    h.client.addBreakers([JOINED]);
    expect(h.client.breaker(JOINED).admit().allowed).toBe(true); // unknown to the coordinator: closed
    h.client.breaker(JOINED).record(false, 5);
    h.time.advance(1_000);
    expect(h.stream.reports().flat()).toContainEqual(expect.objectContaining({ breaker: JOINED, failures: 1 }));
    h.stream.fail();
    const next = h.dialBack();
    expect(next.ofKind("hello")[0]!.hello.breakers).toEqual([NAME, JOINED]);
  });

  it("detaches a breaker added while detached; rejects an empty name, whatever comes with it", () => {
    const h = clientHarness();
    h.transport.failOpen = true;
    h.time.advance(3_000);
    expect(h.client.detached).toBe(true);
    h.client.addBreakers([JOINED]);
    expect(h.client.breaker(JOINED).detached).toBe(true);
    expect(() => h.client.addBreakers(["cache-store:f:1", ""])).toThrow(
      new RangeError('breaker names must be non-empty strings, got ""'),
    );
    expect(h.client.breakers.has("cache-store:f:1")).toBe(false);
  });
});
