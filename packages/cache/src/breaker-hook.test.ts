import { describe, expect, it } from "vitest";
import { classifyOutcome, createStorageGuard, type BreakerHook } from "./breaker-hook.js";
import { CacheError, isCacheError } from "./errors.js";

function recordingHook(admission: ReturnType<BreakerHook["admit"]> = { allowed: true }) {
  const records: [boolean, number][] = [];
  const hook: BreakerHook = { admit: () => admission, record: (_a, ok, ms) => records.push([ok, ms]) };
  return { hook, records };
}

describe("storage outcomes", () => {
  it("counts unavailable and unknown errors as failures, answers as successes", () => {
    expect(classifyOutcome(new CacheError("unavailable", "x"))).toBe("failure");
    expect(classifyOutcome(new Error("ECONNRESET"))).toBe("failure");
    for (const kind of [
      "not-found",
      "precondition-failed",
      "invalid-argument",
      "range-not-satisfiable",
      "too-large",
    ] as const) {
      expect(classifyOutcome(new CacheError(kind, "x"))).toBe("success");
    }
    expect(classifyOutcome(new CacheError("cancelled", "x"))).toBe("cancelled");
    expect(classifyOutcome(Object.assign(new Error("aborted"), { name: "AbortError" }))).toBe("cancelled");
  });
});

describe("storage guard", () => {
  it("records successes and failures with the clock's duration", async () => {
    let now = 0;
    const { hook, records } = recordingHook();
    const guard = createStorageGuard(hook, { now: () => now });
    await guard.run(async () => {
      now += 7;
      return 1;
    });
    await expect(
      guard.run(async () => {
        now += 3;
        throw new CacheError("not-found", "nope");
      }),
    ).rejects.toSatisfy((e) => isCacheError(e, "not-found"));
    await expect(
      guard.run(async () => {
        throw new Error("socket hang up");
      }),
    ).rejects.toSatisfy((e) => isCacheError(e, "unavailable") && (e as Error).cause instanceof Error);
    expect(records).toEqual([
      [true, 7],
      [true, 3],
      [false, 0],
    ]);
  });

  it("refuses without calling storage when the breaker is open", async () => {
    const { hook, records } = recordingHook({ allowed: false, retryAfterMs: 1500 });
    let called = false;
    const guard = createStorageGuard(hook, { now: () => 0 });
    const err = await guard
      .run(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(isCacheError(err, "unavailable")).toBe(true);
    expect((err as CacheError).retryAfterMs).toBe(1500);
    expect(called).toBe(false);
    expect(records).toEqual([]);
    const refused = createStorageGuard(recordingHook({ allowed: false }).hook, { now: () => 0 });
    await expect(refused.run(async () => 1)).rejects.toSatisfy((e) => isCacheError(e, "unavailable"));
  });

  it("reports nothing for a call its caller cancelled", async () => {
    const { hook, records } = recordingHook();
    const ac = new AbortController();
    const guard = createStorageGuard(hook, { now: () => 0 });
    const p = guard.run(async () => {
      ac.abort();
      throw new Error("aborted by signal");
    }, ac.signal);
    await expect(p).rejects.toSatisfy((e) => isCacheError(e, "cancelled"));
    expect(records).toEqual([]);
  });
});
