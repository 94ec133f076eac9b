import { describe, expect, it } from "vitest";
import { eventually } from "./eventually.js";

describe("eventually", () => {
  it("answers once the condition holds", async () => {
    let calls = 0;
    await eventually(() => ++calls >= 3, { everyMs: 1 });
    expect(calls).toBe(3);
  });
  it("fails with what was awaited and the last error when it never holds", async () => {
    await expect(
      eventually(
        () => {
          throw new Error("boom");
        },
        { timeoutMs: 5, everyMs: 1, what: "the thing" },
      ),
    ).rejects.toThrow(/the thing did not hold within 5 ms \(last check threw: Error: boom\)/);
  });
});
