import type { Comparison } from "./report.js";

/** How long and how hard every suite measures; read once from the environment by main.ts. */
export interface BenchSettings {
  /** Measured seconds per side and scenario, split over `rounds` (BENCH_SECONDS, default 4). */
  readonly seconds: number;
  /** Unmeasured seconds per side and scenario before the rounds (BENCH_WARMUP_SECONDS, default 1). */
  readonly warmupSeconds: number;
  /** Rounds the measured time is split into; the side order reverses every round (BENCH_ROUNDS, default 8). */
  readonly rounds: number;
  /** Calls kept in flight by the load generator (BENCH_IN_FLIGHT, default 64). */
  readonly inFlight: number;
  /**
   * Node flags for the server processes a suite starts (pass them as
   * `startChildServer`'s `nodeArgs`): `--cpu-prof` into BENCH_PROFILE_DIR when
   * that is set, else none.
   */
  readonly serverNodeArgs: readonly string[];
  /** Writes one progress line (to stderr, so stdout holds only the tables). */
  readonly log: (line: string) => void;
}

/**
 * One benchmark suite, selected on the command line by `name`
 * (`npm run bench -- <name>`). A suite starts what it measures (servers in
 * child processes via `startChildServer`, load via `compareSides`), returns one
 * Comparison per scenario for main.ts to print, and releases everything it
 * started before it settles, on failure too. Add a suite by listing it in
 * `suites/index.ts`.
 */
export interface Suite {
  /** Command-line name, kebab-case, e.g. "server-kit". */
  readonly name: string;
  /** One line: what is compared against what. */
  readonly title: string;
  run(settings: BenchSettings): Promise<readonly Comparison[]>;
}
