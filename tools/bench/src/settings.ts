import type { BenchSettings } from "./suite.js";

/** Settings from BENCH_* variables; every bad value is named in one RangeError. */
export function loadSettings(env: NodeJS.ProcessEnv, log: (line: string) => void): BenchSettings {
  const problems: string[] = [];
  const read = (name: string, fallback: number, valid: (n: number) => boolean, what: string): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const n = Number(raw);
    if (!valid(n)) problems.push(`${name}=${JSON.stringify(raw)} is not ${what}`);
    return n;
  };
  const positive = (n: number): boolean => Number.isFinite(n) && n > 0;
  const settings: BenchSettings = {
    seconds: read("BENCH_SECONDS", 4, positive, "a positive number of seconds"),
    warmupSeconds: read("BENCH_WARMUP_SECONDS", 1, (n) => Number.isFinite(n) && n >= 0, "a number of seconds ≥ 0"),
    rounds: read("BENCH_ROUNDS", 8, (n) => Number.isInteger(n) && n >= 1, "a whole number ≥ 1"),
    inFlight: read("BENCH_IN_FLIGHT", 64, (n) => Number.isInteger(n) && n >= 1, "a whole number ≥ 1"),
    serverNodeArgs: env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${env.BENCH_PROFILE_DIR}`] : [],
    log,
  };
  if (problems.length > 0) throw new RangeError(`bad benchmark settings:\n  ${problems.join("\n  ")}`);
  return Object.freeze(settings);
}
