import { describe as suite, expect, it } from "vitest";
import { parseDuration } from "./duration.js";

suite("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1.5s", 1_500],
    [" 2s ", 2_000],
    [250, 250],
    [0, 0],
  ])("reads %j as %d ms", (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, ms });
  });

  it.each([["30"], ["s"], ["-1s"], ["3 s"], ["1d"], [""]])("refuses the string %j, quoting it", (input) => {
    const parsed = parseDuration(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(JSON.stringify(input));
  });

  it("refuses negative and non-finite numbers and other types", () => {
    expect(parseDuration(-5)).toEqual({ ok: false, problem: "must be a duration ≥ 0, got -5" });
    expect(parseDuration(Number.POSITIVE_INFINITY).ok).toBe(false);
    expect(parseDuration(true)).toMatchObject({ ok: false, problem: expect.stringContaining("got true") });
    expect(parseDuration({ a: 1 })).toMatchObject({ ok: false, problem: expect.stringContaining("got a mapping") });
  });
});
