/**
 * How long a breaker stays open (design.md "Breakers"): `openTimeoutMs`,
 * doubling on each re-open up to `maxOpenTimeoutMs`, spread by ±`openJitter`
 * so that breakers opened together do not all probe together.
 */
import type { BreakerConfig } from "./config.js";
import type { Random } from "./clock.js";

type BackoffConfig = Pick<BreakerConfig, "openTimeoutMs" | "maxOpenTimeoutMs" | "openJitter">;

/** The open time before jitter after `reopens` re-opens since the last clean close. */
export function baseOpenTimeout(reopens: number, config: BackoffConfig): number {
  // 2 ** 1075 is Infinity; the cap catches it.
  return Math.min(config.openTimeoutMs * 2 ** Math.max(0, reopens), config.maxOpenTimeoutMs);
}

/**
 * The open time, jittered: base × (1 ± openJitter) from `random()` in [0, 1),
 * never above `maxOpenTimeoutMs` nor below 1 ms, rounded to whole ms.
 */
export function openTimeout(reopens: number, config: BackoffConfig, random: Random): number {
  const base = baseOpenTimeout(reopens, config);
  const spread = 1 + config.openJitter * (2 * random() - 1);
  return Math.max(1, Math.min(Math.round(base * spread), config.maxOpenTimeoutMs));
}

/** Delays between reconnection attempts: doubling from `initialMs` up to `maxMs`, jittered. */
export interface ReconnectBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The delay before reconnect attempt `attempt` (0-based) of a long-lived
 * stream (the coordinator's Session, a cache-store's invalidations): "equal
 * jitter" over an exponential base, i.e. between half the base and the base,
 * the base being `initialMs · 2^attempt` capped at `maxMs`, so that processes
 * cut off together do not all return together. Rejects bad options with a
 * RangeError naming the value.
 */
export function reconnectDelay(attempt: number, backoff: ReconnectBackoff, random: Random): number {
  const { initialMs, maxMs } = backoff;
  if (!(initialMs > 0) || !Number.isFinite(initialMs))
    throw new RangeError(`initialMs must be a finite number > 0, got ${initialMs}`);
  if (!(maxMs >= initialMs) || !Number.isFinite(maxMs))
    throw new RangeError(`maxMs must be finite and ≥ initialMs, got ${maxMs}`);
  // Capping the exponent keeps 2^attempt finite however long the outage.
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(base / 2 + (random() * base) / 2);
}
