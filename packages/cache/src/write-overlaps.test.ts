import { describe, expect, it } from "vitest";
import { createWriteOverlaps } from "./write-overlaps.js";

describe("write overlaps", () => {
  it("a write alone did not overlap; one after it ended neither", () => {
    const w = createWriteOverlaps();
    const a = w.begin("k");
    expect(a.overlapped()).toBe(false);
    a.end();
    const b = w.begin("k");
    expect(b.overlapped()).toBe(false);
    b.end();
  });

  it("two writes of one key at once both overlapped, whichever ends first", () => {
    const w = createWriteOverlaps();
    const a = w.begin("k");
    const b = w.begin("k");
    a.end();
    expect(a.overlapped()).toBe(true);
    expect(b.overlapped()).toBe(true);
    b.end();
    const c = w.begin("k");
    expect(c.overlapped()).toBe(false);
  });

  it("a write that began while an overlapped one was still running counts as overlapped", () => {
    const w = createWriteOverlaps();
    const a = w.begin("k");
    const b = w.begin("k");
    a.end();
    const c = w.begin("k");
    b.end();
    expect(c.overlapped()).toBe(true);
  });

  it("writes of other keys do not overlap; end() twice is harmless", () => {
    const w = createWriteOverlaps();
    const a = w.begin("k1");
    const b = w.begin("k2");
    expect([a.overlapped(), b.overlapped()]).toEqual([false, false]);
    a.end();
    a.end();
    const c = w.begin("k1");
    expect(c.overlapped()).toBe(false);
  });
});
