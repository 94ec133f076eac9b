import { describe, expect, it } from "vitest";
import { loadSettings } from "./settings.js";

const log = (): void => {};

describe("loadSettings", () => {
  it("has defaults for an empty environment", () => {
    const s = loadSettings({}, log);
    expect(s).toMatchObject({ seconds: 4, warmupSeconds: 1, rounds: 8, inFlight: 64, serverNodeArgs: [] });
    expect(Object.isFrozen(s)).toBe(true);
  });

  it("reads BENCH_* and profiles servers when BENCH_PROFILE_DIR is set", () => {
    const s = loadSettings(
      {
        BENCH_SECONDS: "0.5",
        BENCH_WARMUP_SECONDS: "0",
        BENCH_ROUNDS: "2",
        BENCH_IN_FLIGHT: "8",
        BENCH_PROFILE_DIR: "/tmp/p",
      },
      log,
    );
    expect(s).toMatchObject({ seconds: 0.5, warmupSeconds: 0, rounds: 2, inFlight: 8 });
    expect(s.serverNodeArgs).toEqual(["--cpu-prof", "--cpu-prof-dir=/tmp/p"]);
  });

  it("names every bad value at once", () => {
    expect(() => loadSettings({ BENCH_SECONDS: "0", BENCH_ROUNDS: "1.5", BENCH_IN_FLIGHT: "many" }, log)).toThrow(
      /BENCH_SECONDS="0"[\s\S]*BENCH_ROUNDS="1.5"[\s\S]*BENCH_IN_FLIGHT="many"/,
    );
  });
});
