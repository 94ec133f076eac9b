/**
 * Pacing of reconnection attempts of long-lived streams (a peer's or an
 * upstream's invalidations): exponential backoff with jitter, so that
 * processes cut off together do not all return together, and waits that
 * never keep the process alive nor outlive a shutdown.
 */

/** Delays between attempts: doubling from `initialMs` up to `maxMs`, jittered. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The delay before attempt `attempt` (0-based): "equal jitter" over an
 * exponential base, i.e. between half the base and the base, the base being
 * `initialMs · 2^attempt` capped at `maxMs`. Rejects bad options with a
 * RangeError naming the value.
 */
export function reconnectDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const { initialMs, maxMs } = options;
  if (!(initialMs > 0) || !Number.isFinite(initialMs)) throw new RangeError(`initialMs must be a finite number > 0, got ${initialMs}`);
  if (!(maxMs >= initialMs) || !Number.isFinite(maxMs)) throw new RangeError(`maxMs must be finite and ≥ initialMs, got ${maxMs}`);
  // Capping the exponent keeps 2^attempt finite however long the outage.
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * Waits `ms`, or less when `signal` aborts; never rejects. The timer is
 * unref'd: a pending retry must not hold the process open.
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
  });
}
