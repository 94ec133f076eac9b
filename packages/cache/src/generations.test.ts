import { describe, expect, it } from "vitest";
import { createGenerations } from "./generations.js";

describe("generations", () => {
  it("makes a load stale when its key is written after it began", () => {
    const g = createGenerations();
    const t = g.begin();
    expect(g.isCurrent(t, "b", "k")).toBe(true);
    g.bump("b", "other");
    expect(g.isCurrent(t, "b", "k")).toBe(true);
    g.bump("b", "k");
    expect(g.isCurrent(t, "b", "k")).toBe(false);
    const later = g.begin();
    expect(g.isCurrent(later, "b", "k")).toBe(true);
  });

  it("fences prefixes within their bucket", () => {
    const g = createGenerations();
    const t = g.begin();
    g.bumpPrefix("b", "img/");
    expect(g.isCurrent(t, "b", "img/1.png")).toBe(false);
    expect(g.isCurrent(t, "b", "doc/1")).toBe(true);
    expect(g.isCurrent(t, "c", "img/1.png")).toBe(true);
    g.bumpPrefix("c", "");
    expect(g.isCurrent(t, "c", "anything")).toBe(false);
  });

  it("keeps no records while no load runs", () => {
    const g = createGenerations();
    for (let i = 0; i < 10_000; i++) g.bump("b", `k${i}`);
    const t = g.begin();
    expect(g.isCurrent(t, "b", "k1")).toBe(true);
    g.end(t);
  });

  it("prunes records that no running load can need, and stays correct", () => {
    const g = createGenerations();
    const old = g.begin();
    g.bump("b", "hot");
    const mid = g.begin();
    g.end(old);
    // Many writes while `mid` runs, then loads come and go.
    for (let i = 0; i < 5_000; i++) {
      const t = g.begin();
      g.bump("b", `k${i}`);
      expect(g.isCurrent(t, "b", `k${i}`)).toBe(false);
      g.end(t);
    }
    expect(g.isCurrent(mid, "b", "hot")).toBe(true);
    expect(g.isCurrent(mid, "b", "k4999")).toBe(false);
    g.bump("b", "hot");
    expect(g.isCurrent(mid, "b", "hot")).toBe(false);
    g.end(mid);
  });
});
