import { describe, expect, it } from "vitest";
import { isCacheError } from "../errors.js";
import { expectedRange, parseContentRange, rangeHeader } from "./content-range.js";

describe("rangeHeader", () => {
  it("writes the three forms of RFC 9110 14.1.2", () => {
    expect(rangeHeader({ start: 2, end: 5 })).toBe("bytes=2-5");
    expect(rangeHeader({ start: 7 })).toBe("bytes=7-");
    expect(rangeHeader({ suffix: 3 })).toBe("bytes=-3");
  });

  it.each([{ start: -1 }, { start: 1.5 }, { start: 5, end: 4 }, { suffix: -2 }, { start: Number.NaN }])(
    "rejects %o as invalid-argument",
    (range) => {
      let err: unknown;
      try {
        rangeHeader(range);
      } catch (e) {
        err = e;
      }
      expect(isCacheError(err, "invalid-argument")).toBe(true);
    },
  );
});

describe("parseContentRange", () => {
  it("reads first, last and size", () => {
    expect(parseContentRange("bytes 0-9/10")).toEqual({ start: 0, end: 9, size: 10 });
    expect(parseContentRange(" bytes 5-5/6 ")).toEqual({ start: 5, end: 5, size: 6 });
  });
  it.each([undefined, "", "bytes */10", "bytes 5-1/10", "bytes 0-9/*", "items 0-1/2"])("ignores %o", (value) => {
    expect(parseContentRange(value)).toBeUndefined();
  });
});

describe("expectedRange", () => {
  it("clamps to the object", () => {
    expect(expectedRange({ start: 2, end: 5 }, 10)).toEqual({ start: 2, end: 5 });
    expect(expectedRange({ start: 8, end: 50 }, 10)).toEqual({ start: 8, end: 9 });
    expect(expectedRange({ start: 8 }, 10)).toEqual({ start: 8, end: 9 });
    expect(expectedRange({ suffix: 3 }, 10)).toEqual({ start: 7, end: 9 });
    expect(expectedRange({ suffix: 30 }, 10)).toEqual({ start: 0, end: 9 });
  });
  it("is undefined when unsatisfiable", () => {
    expect(expectedRange({ start: 10 }, 10)).toBeUndefined();
    expect(expectedRange({ suffix: 0 }, 10)).toBeUndefined();
    expect(expectedRange({ start: 0 }, 0)).toBeUndefined();
    expect(expectedRange({ suffix: 5 }, 0)).toBeUndefined();
  });
});
