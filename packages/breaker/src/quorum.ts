/**
 * Quorum (design.md "Breakers"): one sick instance must not poison a healthy
 * fleet. The fleet breaker opens only when enough distinct instances see the
 * backend fail; an instance that fails alone is told to open its local
 * breaker for itself.
 */
import type { BreakerConfig } from "./config.js";
import type { FleetOutcomes } from "./fleet-window.js";
import { type TripCounts, tripReason, trips } from "./trip.js";

type QuorumConfig = Pick<BreakerConfig, "quorumInstances" | "quorumFraction">;
type FailingConfig = Pick<
  BreakerConfig,
  "failureRateThreshold" | "consecutiveFailures" | "slowCallMs" | "slowCallRateThreshold"
>;

/**
 * How many failing instances open the fleet breaker when `reporting`
 * instances have calls in the window: 1 when one instance reports; else
 * `quorumInstances` or `quorumFraction` of the reporters, whichever is fewer,
 * but never a single instance among several (unless quorumInstances is 1).
 */
export function requiredQuorum(reporting: number, config: QuorumConfig): number {
  if (reporting <= 1) return 1;
  // The epsilon keeps 0.3 × 10 from rounding up to 4.
  const byFraction = Math.max(2, Math.ceil(config.quorumFraction * reporting - 1e-9));
  return Math.min(config.quorumInstances, byFraction);
}

/** True when `failing` of `reporting` instances make a quorum. */
export function hasQuorum(failing: number, reporting: number, config: QuorumConfig): boolean {
  return failing >= 1 && failing >= requiredQuorum(reporting, config);
}

/**
 * Whether an instance's own calls point at the backend, so that it counts
 * toward quorum: it has failures and its own failure rate (or slow-call rate)
 * is at the threshold, or its run of failures is. No minimum of calls: with
 * traffic spread over many instances each sees few, and the fleet total has
 * already passed the minimum. A healthy instance with a stray failure does not count.
 */
export function isInstanceFailing(w: TripCounts, config: FailingConfig): boolean {
  const calls = w.successes + w.failures;
  if (calls === 0) return false;
  if (w.failures > 0 && w.failures / calls >= config.failureRateThreshold) return true;
  if (w.consecutiveFailures >= config.consecutiveFailures) return true;
  return config.slowCallMs !== undefined && w.slowCalls > 0 && w.slowCalls / calls >= config.slowCallRateThreshold;
}

/** The instances of a fleet window at `now`: how many report and which fail. */
export interface QuorumCount {
  readonly reporting: number;
  readonly failing: readonly string[];
}

/** Counts reporting and failing instances in a fleet window at `now`. */
export function countQuorum(window: FleetOutcomes, config: FailingConfig, now: number): QuorumCount {
  let reporting = 0;
  const failing: string[] = [];
  window.forEach(now, (instance, w) => {
    reporting++;
    if (isInstanceFailing(w, config)) failing.push(instance);
  });
  return { reporting, failing };
}

/**
 * The instances whose own calls cross the trip thresholds (minimum requests
 * included) at `now`: without a fleet quorum, each should hold its local
 * breaker open for itself. The coordinator lists them (ListInstances).
 */
export function locallyOpenInstances(window: FleetOutcomes, config: BreakerConfig, now: number): string[] {
  const open: string[] = [];
  window.forEach(now, (instance, w) => {
    if (trips(w, config)) open.push(instance);
  });
  return open.sort();
}

/**
 * Why the fleet breaker opens at `now`, or undefined: the combined window
 * must cross a threshold and the failing instances must make a quorum.
 */
export function quorumTripReason(window: FleetOutcomes, config: BreakerConfig, now: number): string | undefined {
  const why = tripReason(window.total, config);
  if (why === undefined) return undefined;
  const { reporting, failing } = countQuorum(window, config, now);
  if (!hasQuorum(failing.length, reporting, config)) return undefined;
  return reporting > 1 ? `${why} (${failing.length} of ${reporting} instances failing)` : why;
}
