import { describe, expect, it } from "vitest";
import { BreakerConfigError, isBreakerConfigError } from "./breaker-config-error.js";
import { BreakerSnapshotError, isBreakerSnapshotError } from "./breaker-snapshot-error.js";

describe("branded errors", () => {
  it("are recognised by their guards, and only by their own", () => {
    const config = new BreakerConfigError(["a: bad", "b: worse"]);
    const snapshot = new BreakerSnapshotError("x: bad");
    const others = [snapshot, new Error("a"), null, "BreakerConfigError"];
    expect(isBreakerConfigError(config)).toBe(true);
    expect(others.map(isBreakerConfigError)).toEqual([false, false, false, false]);
    expect(isBreakerSnapshotError(snapshot)).toBe(true);
    expect([config, new Error("a"), null].map(isBreakerSnapshotError)).toEqual([false, false, false]);
    expect(config).toBeInstanceOf(Error);
    expect(config.name).toBe("BreakerConfigError");
    expect(config.message).toBe("invalid breaker config (2 problems):\n  - a: bad\n  - b: worse");
    expect(Object.isFrozen(config.problems)).toBe(true);
  });
});
