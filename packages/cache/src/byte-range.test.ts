import { describe, expect, it } from "vitest";
import { rangeLength, resolveRange, validateRange } from "./byte-range.js";
import { isCacheError } from "./errors.js";
import type { RangeRequest } from "./storage.js";

function failure(range: RangeRequest, size: number): unknown {
  try {
    resolveRange(range, size);
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

describe("resolveRange (RFC 9110 14.1.2)", () => {
  it("resolves first-last inclusively", () => {
    expect(resolveRange({ start: 0, end: 499 }, 10_000)).toEqual({ start: 0, end: 499 });
    expect(resolveRange({ start: 500, end: 999 }, 10_000)).toEqual({ start: 500, end: 999 });
    expect(rangeLength({ start: 500, end: 999 })).toBe(500);
  });

  it("reads first- to the end", () => {
    expect(resolveRange({ start: 9500 }, 10_000)).toEqual({ start: 9500, end: 9999 });
  });

  it("reads the last n bytes of -n", () => {
    expect(resolveRange({ suffix: 500 }, 10_000)).toEqual({ start: 9500, end: 9999 });
  });

  it("clamps a last byte past the end", () => {
    expect(resolveRange({ start: 5, end: 1_000_000 }, 10)).toEqual({ start: 5, end: 9 });
  });

  it("selects the whole object when the suffix is longer than it", () => {
    expect(resolveRange({ suffix: 50 }, 10)).toEqual({ start: 0, end: 9 });
  });

  it("single byte ranges work at both ends", () => {
    expect(resolveRange({ start: 0, end: 0 }, 1)).toEqual({ start: 0, end: 0 });
    expect(resolveRange({ start: 9, end: 9 }, 10)).toEqual({ start: 9, end: 9 });
  });

  it("is unsatisfiable when the first byte is at or past the end, with the size", () => {
    for (const [range, size] of [
      [{ start: 10 }, 10],
      [{ start: 11, end: 20 }, 10],
      [{ start: 0 }, 0],
    ] as const) {
      const e = failure(range, size);
      expect(isCacheError(e, "range-not-satisfiable")).toBe(true);
      expect((e as { objectSize: number }).objectSize).toBe(size);
    }
  });

  it("is unsatisfiable for a zero suffix and for any suffix of an empty object", () => {
    expect(isCacheError(failure({ suffix: 0 }, 10), "range-not-satisfiable")).toBe(true);
    expect(isCacheError(failure({ suffix: 3 }, 0), "range-not-satisfiable")).toBe(true);
  });

  it("rejects malformed ranges as invalid arguments", () => {
    for (const range of [
      { start: 5, end: 4 },
      { start: -1 },
      { start: 1.5 },
      { start: 0, end: Number.NaN },
      { suffix: -2 },
      { suffix: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => validateRange(range)).toThrow(/invalid byte range/);
      expect(isCacheError(failure(range, 100), "invalid-argument")).toBe(true);
    }
  });
});
