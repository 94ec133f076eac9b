import { describe, expect, it } from "vitest";
import { type BreakerStateKind, type BreakerView, effectiveState, fleetStateAt } from "./breaker-state.js";

const kinds: BreakerStateKind[] = ["closed", "half-open", "open"];
const view = (state: BreakerStateKind, openUntil?: number): BreakerView => ({
  name: "s3:x",
  state,
  version: 1,
  openUntil,
  forced: false,
});

describe("effectiveState", () => {
  it("is the stricter of fleet and local: local can never loosen the fleet", () => {
    const table = kinds.map((fleet) => kinds.map((local) => effectiveState(fleet, local)));
    expect(table).toEqual([
      ["closed", "half-open", "open"],
      ["half-open", "half-open", "open"],
      ["open", "open", "open"],
    ]);
  });
});

describe("fleetStateAt", () => {
  it("takes an attached view as it is, an expired open one as half-open", () => {
    expect(fleetStateAt(undefined, 0, false)).toBe("closed");
    expect(fleetStateAt(view("half-open"), 0, false)).toBe("half-open");
    expect(fleetStateAt(view("open", 100), 99, false)).toBe("open");
    expect(fleetStateAt(view("open", 100), 100, false)).toBe("half-open");
    expect(fleetStateAt(view("open"), 1e12, false)).toBe("open");
  });

  it("detached, keeps only known open states until they expire", () => {
    expect(fleetStateAt(view("open", 100), 99, true)).toBe("open");
    expect(fleetStateAt(view("open", 100), 100, true)).toBe("closed");
    expect(fleetStateAt(view("half-open"), 0, true)).toBe("closed");
    expect(fleetStateAt(view("open"), 1e12, true)).toBe("open");
  });
});
