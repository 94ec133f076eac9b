/**
 * Token buckets keyed by caller (nginx `limit_req` with `burst`): each key
 * holds up to `burst` tokens, refilled at `ratePerSecond`; a request takes
 * one or is told how long until one is there. Time comes from the caller
 * (milliseconds), so tests drive it.
 */
export interface TokenBuckets {
  /** Takes a token for `key` at `now`: 0 when allowed, else the milliseconds until a token is there. */
  take(key: string, now: number): number;
  /** Keys currently tracked (bounded by `maxKeys`). */
  readonly size: number;
}

/** Options of {@link createTokenBuckets}. */
export interface TokenBucketOptions {
  /** Tokens added per second, per key; above 0. */
  readonly ratePerSecond: number;
  /** Most tokens a key holds: how many requests may come at once after a quiet spell; at least 1. */
  readonly burst: number;
  /** Most keys tracked; past it, full (idle) buckets and then the oldest are forgotten (default 10 000). */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createTokenBuckets(options: TokenBucketOptions): TokenBuckets {
  const { ratePerSecond, burst } = options;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
    throw new RangeError(`ratePerSecond must be above 0, got ${ratePerSecond}`);
  if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be at least 1, got ${burst}`);
  const maxKeys = options.maxKeys ?? 10_000;
  const perMs = ratePerSecond / 1000;
  const buckets = new Map<string, Bucket>();

  function refill(b: Bucket, now: number): void {
    if (now > b.at) b.tokens = Math.min(burst, b.tokens + (now - b.at) * perMs);
    b.at = Math.max(b.at, now);
  }

  /**
   * Forgets buckets that have refilled (a new one would be the same), then the
   * oldest, down to 90% of maxKeys: the sweep is paid once per tenth of the
   * keys, not on every new caller (many addresses must not make each request cost a sweep).
   */
  function prune(now: number): void {
    const target = Math.floor(maxKeys * 0.9);
    for (const [key, b] of buckets) {
      refill(b, now);
      if (b.tokens >= burst) buckets.delete(key);
    }
    for (const key of buckets.keys()) {
      if (buckets.size <= target) break;
      buckets.delete(key);
    }
  }

  return {
    take(key, now) {
      let b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= maxKeys) prune(now);
        b = { tokens: burst, at: now };
        buckets.set(key, b);
      } else refill(b, now);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - b.tokens) / perMs);
    },
    get size() {
      return buckets.size;
    },
  };
}
