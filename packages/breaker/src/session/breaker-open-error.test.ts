import { describe, expect, it } from "vitest";
import { BreakerOpenError, isBreakerOpenError } from "./breaker-open-error.js";

describe("BreakerOpenError", () => {
  it("carries the breaker, the state and retryAfterMs, and is recognised by its guard only", () => {
    const e = new BreakerOpenError("s3:x", "open", 1_500);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("BreakerOpenError");
    expect(e.message).toBe("breaker s3:x is open; retry after 1500 ms");
    expect([e.breaker, e.state, e.retryAfterMs]).toEqual(["s3:x", "open", 1_500]);
    expect(isBreakerOpenError(e)).toBe(true);
    expect(
      [new Error("open"), null, undefined, "BreakerOpenError", { name: "BreakerOpenError" }].map(isBreakerOpenError),
    ).toEqual([false, false, false, false, false]);
  });
});
