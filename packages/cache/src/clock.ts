/**
 * Time as the cache core sees it. Freshness, stale windows and negative
 * entries are all measured with an injected clock, so tests drive time and
 * the core owns no timers.
 */

/** A source of milliseconds; only differences between readings matter. */
export interface Clock {
  now(): number;
}

/** The wall clock (`Date.now`), for apps that have no clock of their own. */
export const systemClock: Clock = { now: () => Date.now() };
