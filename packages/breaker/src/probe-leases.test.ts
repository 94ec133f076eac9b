import { describe, expect, it } from "vitest";
import { ProbeLeases } from "./probe-leases.js";

describe("ProbeLeases", () => {
  it("grants at most `max` permits and says when one frees up", () => {
    const leases = new ProbeLeases();
    const first = leases.acquire("a", 1, 1_000, 5_000);
    expect(first).toEqual({ granted: true, id: "p1", holder: "a", expiresAt: 6_000 });
    expect(leases.acquire("b", 1, 2_000, 5_000)).toEqual({ granted: false, why: "busy", retryAfterMs: 4_000 });
  });

  it("frees a lapsed lease so a new holder can probe", () => {
    const leases = new ProbeLeases();
    leases.acquire("a", 1, 0, 5_000);
    expect(leases.acquire("b", 1, 5_000, 5_000)).toMatchObject({ granted: true, holder: "b", id: "p2" });
    expect(leases.release("p1", 5_001)).toBe(false);
  });

  it("releases known permits once, and never reuses an id", () => {
    const leases = new ProbeLeases();
    leases.acquire("a", 2, 0, 5_000);
    expect(leases.release("p1", 1)).toBe(true);
    expect(leases.release("p1", 1)).toBe(false);
    leases.clear();
    expect(leases.acquire("a", 2, 2, 5_000)).toMatchObject({ id: "p2" });
  });

  it("round-trips through JSON", () => {
    const leases = new ProbeLeases();
    leases.acquire("a", 2, 0, 5_000);
    leases.acquire("b", 2, 0, 5_000);
    const back = new ProbeLeases();
    back.load(JSON.parse(JSON.stringify(leases.toJSON())));
    expect(back.toJSON()).toEqual(leases.toJSON());
    expect(back.acquire("c", 3, 1, 5_000)).toMatchObject({ id: "p3" });
  });
});
