/**
 * Call outcomes over a sliding window of fixed buckets, rotated by time: a
 * record is O(1) and allocates nothing; reading the totals is O(1) after the
 * window has moved to `now` (at most one pass over the buckets per move).
 * Also counts the current run of consecutive failures.
 */

/** The counts of a window, for operators (GetBreaker) and trip rules. */
export interface WindowCounts {
  readonly successes: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** failures / (successes + failures); 0 with no calls. */
  readonly failureRate: number;
  readonly consecutiveFailures: number;
}

/** A window as saved in a snapshot: non-empty buckets by start time, oldest first. */
export interface SlidingWindowJSON {
  /** [bucket start (ms epoch), successes, failures, slow calls] */
  readonly buckets: ReadonlyArray<readonly [number, number, number, number]>;
  readonly consecutiveFailures: number;
}

/** Counts of successes, failures and slow calls within the last `windowMs`. */
export class SlidingWindow {
  private readonly bucketMs: number;
  private readonly size: number;
  private readonly ok: Float64Array;
  private readonly failed: Float64Array;
  private readonly slow: Float64Array;
  /** Index (time / bucketMs) of the newest bucket; NaN before the first move. */
  private current = Number.NaN;
  /** The slot of the newest bucket. Kept as a small integer: `%` on large doubles is slow. */
  private head = 0;
  /** When the next bucket starts: before it, moving is a single comparison. */
  private nextBucketAt = Number.NEGATIVE_INFINITY;
  private okTotal = 0;
  private failedTotal = 0;
  private slowTotal = 0;
  private run = 0;

  constructor(windowMs: number, buckets: number) {
    if (!Number.isInteger(buckets) || buckets < 1)
      throw new RangeError(`buckets must be an integer ≥ 1, got ${buckets}`);
    if (!(windowMs >= buckets)) throw new RangeError(`windowMs must be at least 1 ms per bucket, got ${windowMs}`);
    this.bucketMs = windowMs / buckets;
    this.size = buckets;
    this.ok = new Float64Array(buckets);
    this.failed = new Float64Array(buckets);
    this.slow = new Float64Array(buckets);
  }

  /** Successes in the window (as of the last move). */
  get successes(): number {
    return this.okTotal;
  }
  /** Failures in the window (as of the last move). */
  get failures(): number {
    return this.failedTotal;
  }
  /** Slow calls in the window; each is also a success or a failure. */
  get slowCalls(): number {
    return this.slowTotal;
  }
  /** Successes plus failures. */
  get calls(): number {
    return this.okTotal + this.failedTotal;
  }
  /** The current run of failures; never more than the failures still in the window. */
  get consecutiveFailures(): number {
    return this.run;
  }

  /**
   * Adds outcomes at `now`. A batch with any success ends the failure run
   * before its failures are counted (the stricter reading of a batch whose
   * order is unknown). A `now` older than the newest bucket counts there.
   */
  record(successes: number, failures: number, slowCalls: number, now: number): void {
    this.advance(now);
    const slot = this.head;
    this.ok[slot] += successes;
    this.failed[slot] += failures;
    this.slow[slot] += slowCalls;
    this.okTotal += successes;
    this.failedTotal += failures;
    this.slowTotal += slowCalls;
    this.run = successes > 0 ? failures : this.run + failures;
  }

  /** Moves the window to `now`, dropping buckets that fell out of it. Time never moves back. */
  advance(now: number): void {
    if (now < this.nextBucketAt) return;
    const index = Math.floor(now / this.bucketMs);
    this.nextBucketAt = (index + 1) * this.bucketMs;
    if (Number.isNaN(this.current)) {
      this.current = index;
      return;
    }
    if (index <= this.current) return;
    if (index - this.current >= this.size) {
      this.clearCounts();
    } else {
      for (let steps = index - this.current; steps > 0; steps--) {
        this.head = this.head + 1 === this.size ? 0 : this.head + 1;
        this.drop(this.head);
      }
    }
    this.current = index;
    // The run is the newest failures, so it shrinks as failures expire.
    if (this.run > this.failedTotal) this.run = this.failedTotal;
  }

  /** The counts at `now`. Allocates; for operators, not the hot path. */
  counts(now: number): WindowCounts {
    this.advance(now);
    const calls = this.calls;
    return {
      successes: this.okTotal,
      failures: this.failedTotal,
      slowCalls: this.slowTotal,
      failureRate: calls === 0 ? 0 : this.failedTotal / calls,
      consecutiveFailures: this.run,
    };
  }

  /** True when nothing is left in the window (it can be forgotten). */
  get empty(): boolean {
    return this.okTotal === 0 && this.failedTotal === 0 && this.run === 0;
  }

  /** Empties the window (a clean close, a reset). */
  clear(): void {
    this.clearCounts();
    this.run = 0;
  }

  /** The window for a snapshot, as of `now`. */
  toJSON(now: number): SlidingWindowJSON {
    this.advance(now);
    const buckets: Array<readonly [number, number, number, number]> = [];
    for (let age = this.size - 1; age >= 0; age--) {
      const s = this.slotOf(age);
      const ok = this.ok[s];
      const failed = this.failed[s];
      if (ok + failed > 0) buckets.push([(this.current - age) * this.bucketMs, ok, failed, this.slow[s]]);
    }
    return { buckets, consecutiveFailures: this.run };
  }

  /** Loads a saved window (this window's sizing may differ); buckets older than the window at `now` fall away. */
  load(json: SlidingWindowJSON, now: number): void {
    this.clear();
    this.current = Number.NaN;
    this.nextBucketAt = Number.NEGATIVE_INFINITY;
    const buckets = [...json.buckets].sort((a, b) => a[0] - b[0]);
    for (const [start, ok, failed, slow] of buckets) this.record(ok, failed, slow, Math.min(start, now));
    this.advance(now);
    this.run = Math.min(json.consecutiveFailures, this.failedTotal);
  }

  // The slot of the bucket `age` buckets older than the newest.
  private slotOf(age: number): number {
    const slot = this.head - age;
    return slot < 0 ? slot + this.size : slot;
  }

  private drop(slot: number): void {
    this.okTotal -= this.ok[slot];
    this.failedTotal -= this.failed[slot];
    this.slowTotal -= this.slow[slot];
    this.ok[slot] = 0;
    this.failed[slot] = 0;
    this.slow[slot] = 0;
  }

  private clearCounts(): void {
    this.ok.fill(0);
    this.failed.fill(0);
    this.slow.fill(0);
    this.okTotal = 0;
    this.failedTotal = 0;
    this.slowTotal = 0;
  }
}
