/**
 * The rules that open a breaker (design.md "Breakers"), read from one window:
 * failure rate over enough calls, a run of consecutive failures, or (when
 * configured) the slow-call rate. Kept apart from the state machine so the
 * fleet, each instance and the local breaker apply the very same rules.
 */
import type { BreakerConfig } from "./config.js";
import type { SlidingWindow } from "./sliding-window.js";

/** What the trip rules read from a window (already moved to now). */
export type TripCounts = Pick<SlidingWindow, "successes" | "failures" | "slowCalls" | "consecutiveFailures">;

type TripConfig = Pick<
  BreakerConfig,
  "minimumRequests" | "failureRateThreshold" | "consecutiveFailures" | "slowCallMs" | "slowCallRateThreshold"
>;

/** True when the counts cross any threshold; allocates nothing, for the hot path. */
export function trips(w: TripCounts, config: TripConfig): boolean {
  const calls = w.successes + w.failures;
  if (w.consecutiveFailures >= config.consecutiveFailures) return true;
  if (calls === 0 || calls < config.minimumRequests) return false;
  if (w.failures / calls >= config.failureRateThreshold) return true;
  return config.slowCallMs !== undefined && w.slowCalls / calls >= config.slowCallRateThreshold;
}

/**
 * Why the counts open a breaker, in words an operator reads in GetBreaker
 * (e.g. "failure rate 0.62 ≥ 0.5 over 13 calls"), or undefined when no
 * threshold is crossed.
 */
export function tripReason(w: TripCounts, config: TripConfig): string | undefined {
  if (!trips(w, config)) return undefined;
  const calls = w.successes + w.failures;
  if (calls > 0 && calls >= config.minimumRequests && w.failures / calls >= config.failureRateThreshold) {
    return `failure rate ${round(w.failures / calls)} ≥ ${config.failureRateThreshold} over ${calls} calls`;
  }
  if (w.consecutiveFailures >= config.consecutiveFailures) return `${w.consecutiveFailures} consecutive failures`;
  const rate = round(w.slowCalls / calls);
  return (
    `slow-call rate ${rate} ≥ ${config.slowCallRateThreshold} over ${calls} calls ` +
    `(slow: ≥ ${config.slowCallMs} ms)`
  );
}

const round = (rate: number): string => String(Math.round(rate * 100) / 100);
