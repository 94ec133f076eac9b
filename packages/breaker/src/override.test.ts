import { describe, expect, it } from "vitest";
import { createOverride } from "./override.js";

describe("createOverride", () => {
  it("holds until lifted without a ttl or with ttl 0, else expires after it", () => {
    const held = createOverride("open", { reason: "maintenance" }, 100);
    expect(held).toEqual({ mode: "open", reason: "maintenance", expiresAt: undefined });
    expect(createOverride("closed", { ttlMs: 0 }, 100).expiresAt).toBeUndefined();
    expect(createOverride("closed", { ttlMs: 50 }, 100).expiresAt).toBe(150);
  });

  it("names the mode when no reason is given", () => {
    expect(createOverride("closed", {}, 0).reason).toBe("forced closed by an operator");
    expect(createOverride("open", { reason: "" }, 0).reason).toBe("forced open by an operator");
  });

  it("rejects a negative or non-finite ttl with a RangeError naming the value", () => {
    expect(() => createOverride("open", { ttlMs: -5 }, 0)).toThrow(
      new RangeError("ttlMs must be a finite number ≥ 0, got -5"),
    );
    expect(() => createOverride("open", { ttlMs: Number.POSITIVE_INFINITY }, 0)).toThrow(/got Infinity/);
  });
});
