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
