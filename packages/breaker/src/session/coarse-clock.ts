/**
 * A clock for recording outcomes that reads the real one at most once per
 * `resolutionMs` while calls keep coming. Here a clock read costs about as
 * much as the rest of a breaker's bookkeeping per call (≈55–95 ns, more than
 * a bare await), and outcome counts need no finer time: they land in window
 * buckets of seconds (6 s by default). Admission decisions keep the exact clock.
 */
import type { Clock } from "../index.js";
import type { SessionTimers, TimerHandle } from "./timers.js";

/** Hands out the last reading until a timer of `resolutionMs` says it is stale. */
export class CoarseClock implements Clock {
  private value = 0;
  private timer: TimerHandle | undefined;
  private readonly expire = (): void => {
    this.timer = undefined;
  };

  constructor(
    private readonly clock: Clock,
    private readonly timers: SessionTimers,
    /** How old a reading may get (plus event-loop lag); 0 reads the clock every time. */
    private readonly resolutionMs: number,
  ) {
    if (!(resolutionMs >= 0)) throw new RangeError(`resolutionMs must be ≥ 0, got ${resolutionMs}`);
  }

  /** The time, at most about resolutionMs old; never older than the first call after a quiet spell. */
  now(): number {
    if (this.timer !== undefined) return this.value;
    this.value = this.clock.now();
    if (this.resolutionMs > 0) this.timer = this.timers.setTimeout(this.expire, this.resolutionMs);
    return this.value;
  }

  /** Drops the pending timer (the client closes). */
  close(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
