import { describe, expect, it } from "vitest";
import { firstOpening, openingFromLogLine } from "./transition-log.js";

const breaker = "s3:http://127.0.0.1:9000";
const line = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    level: 40,
    time: "2026-11-23T15:30:18.169Z",
    service: "cache-store",
    event: "breaker_transition",
    breaker,
    from: "closed",
    to: "open",
    source: "local",
    reason: "5 consecutive failures",
    msg: "breaker transition",
    ...fields,
  });

describe("breaker openings in a cache-store's log", () => {
  it("reads the time, the source and the reason of a transition to open", () => {
    expect(openingFromLogLine(line({}), breaker)).toEqual({
      at: Date.parse("2026-11-23T15:30:18.169Z"),
      source: "local",
      reason: "5 consecutive failures",
    });
    expect(openingFromLogLine(line({ source: "fleet", time: 1_000 }), breaker)).toEqual({
      at: 1_000,
      source: "fleet",
      reason: "5 consecutive failures",
    });
  });

  it("ignores other states, other breakers, other messages and lines that are not JSON", () => {
    expect(openingFromLogLine(line({ to: "half-open" }), breaker)).toBeUndefined();
    expect(openingFromLogLine(line({ breaker: "s3:http://other:9000" }), breaker)).toBeUndefined();
    expect(openingFromLogLine(line({ msg: "rpc" }), breaker)).toBeUndefined();
    expect(openingFromLogLine(line({ time: "not a time" }), breaker)).toBeUndefined();
    expect(openingFromLogLine(line({ source: "elsewhere" }), breaker)).toBeUndefined();
    expect(openingFromLogLine('not json "breaker transition"', breaker)).toBeUndefined();
  });

  it("finds the first opening from an index on", () => {
    const lines = [
      line({ time: 1 }),
      '{"msg":"rpc"}',
      line({ to: "closed", time: 2 }),
      line({ time: 3, source: "fleet" }),
      line({ time: 4 }),
    ];
    expect(firstOpening(lines, 0, breaker)?.at).toBe(1);
    expect(firstOpening(lines, 1, breaker)).toMatchObject({ at: 3, source: "fleet" });
    expect(firstOpening(lines, 5, breaker)).toBeUndefined();
  });
});
