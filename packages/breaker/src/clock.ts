/**
 * Time and chance as the breaker core sees them. Every time-dependent rule
 * reads an injected clock and every jitter an injected random source, so tests
 * drive both and the core owns no timers.
 */

/** A source of milliseconds since the epoch (open-until times are absolute). */
export interface Clock {
  now(): number;
}

/** A source of uniform numbers in [0, 1), like `Math.random`; jitter reads it. */
export type Random = () => number;

/** The wall clock (`Date.now`), for apps that have no clock of their own. */
export const systemClock: Clock = { now: () => Date.now() };
