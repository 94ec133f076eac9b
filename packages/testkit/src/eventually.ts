/** How `eventually` polls and when it gives up. */
export interface EventuallyOptions {
  /** Longest wait before failing; a bound that catches breakage, not a target (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 20 ms). */
  everyMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
}

/**
 * Waits until `check` holds, polling, and answers how long that took (ms).
 * Tests synchronise on a condition (a metric, a state, a log line) with this,
 * never on a sleep; the deadline only turns a hang into a clear failure.
 * A check that throws counts as not yet holding; its last error is reported.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  options: EventuallyOptions = {},
): Promise<number> {
  const { timeoutMs = 10_000, everyMs = 20, what = "condition" } = options;
  const started = performance.now();
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return performance.now() - started;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() - started > timeoutMs) {
      const why = lastError === undefined ? "" : ` (last check threw: ${String(lastError)})`;
      throw new Error(`${what} did not hold within ${timeoutMs} ms${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
