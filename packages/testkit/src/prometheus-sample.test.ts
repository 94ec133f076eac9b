import { describe, expect, it } from "vitest";
import { promSample } from "./prometheus-sample.js";

const text = [
  "# HELP cache_hits_total Hits.",
  "# TYPE cache_hits_total counter",
  'cache_hits_total{service="cache-store",status="hit"} 7',
  'cache_hits_total{service="cache-store",status="miss"} 3',
  "process_open_fds 12",
].join("\n");

describe("promSample", () => {
  it("finds a series by name and a subset of its labels", () => {
    expect(promSample(text, "cache_hits_total", { status: "miss" })).toBe(3);
    expect(promSample(text, "process_open_fds")).toBe(12);
  });
  it("answers undefined when nothing matches, never a prefix of another name", () => {
    expect(promSample(text, "cache_hits", {})).toBeUndefined();
    expect(promSample(text, "cache_hits_total", { status: "stale" })).toBeUndefined();
  });
});
