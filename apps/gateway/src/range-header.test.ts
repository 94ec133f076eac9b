import { describe, expect, it } from "vitest";
import { parseRangeHeader } from "./range-header.js";

describe("parseRangeHeader (RFC 9110 14.1.2)", () => {
  it("reads the three forms", () => {
    expect(parseRangeHeader("bytes=0-99")).toEqual({ start: 0n, end: 99n });
    expect(parseRangeHeader("bytes=100-")).toEqual({ start: 100n });
    expect(parseRangeHeader("bytes=-500")).toEqual({ suffixLength: 500n });
    expect(parseRangeHeader("Bytes = 5-5")).toEqual({ start: 5n, end: 5n });
  });

  it("ignores what it may ignore: other units, several ranges, bad syntax", () => {
    expect(parseRangeHeader("items=0-1")).toBe("ignore");
    expect(parseRangeHeader("bytes=0-1,5-6")).toBe("ignore");
    expect(parseRangeHeader("bytes=abc")).toBe("ignore");
    expect(parseRangeHeader("bytes=9-1")).toBe("ignore");
    expect(parseRangeHeader(undefined)).toBeUndefined();
  });

  it("calls a zero-length suffix unsatisfiable", () => {
    expect(parseRangeHeader("bytes=-0")).toBe("unsatisfiable");
  });
});
