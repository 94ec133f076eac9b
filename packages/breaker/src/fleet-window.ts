/**
 * The window of one breaker across the fleet: the combined counts, plus one
 * window per contributing instance, so quorum can count distinct failing
 * instances. Instances whose window has emptied are forgotten.
 */
import type { BreakerConfig } from "./config.js";
import { SlidingWindow, type SlidingWindowJSON } from "./sliding-window.js";

/** Outcomes one instance reports for one breaker (proto OutcomeCount). */
export interface OutcomeCounts {
  readonly successes: number;
  readonly failures: number;
  /** Slow calls among them; each is also a success or a failure. */
  readonly slowCalls?: number | undefined;
}

/** Rejects counts that are not whole numbers ≥ 0 with a RangeError naming the value. */
export function checkCounts(counts: OutcomeCounts): void {
  const check = (what: string, n: number): void => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be an integer ≥ 0, got ${n}`);
  };
  check("successes", counts.successes);
  check("failures", counts.failures);
  check("slowCalls", counts.slowCalls ?? 0);
  if ((counts.slowCalls ?? 0) > counts.successes + counts.failures) {
    throw new RangeError(`slowCalls must not exceed successes + failures, got ${counts.slowCalls}`);
  }
}

/** The read side of a fleet window: the total and a walk over instances. */
export type FleetOutcomes = Pick<FleetWindow, "total" | "forEach">;

/** A fleet window as saved in a snapshot. */
export interface FleetWindowJSON {
  readonly total: SlidingWindowJSON;
  readonly instances: Readonly<Record<string, SlidingWindowJSON>>;
}

/** Outcomes of one breaker, in total and per instance. */
export class FleetWindow {
  /** The combined window all trip rules read. */
  readonly total: SlidingWindow;
  private readonly windows = new Map<string, SlidingWindow>();
  private readonly windowMs: number;
  private readonly buckets: number;
  private nextPrune = Number.NEGATIVE_INFINITY;

  constructor(config: Pick<BreakerConfig, "windowMs" | "windowBuckets">) {
    this.windowMs = config.windowMs;
    this.buckets = config.windowBuckets;
    this.total = new SlidingWindow(config.windowMs, config.windowBuckets);
  }

  /** Adds an instance's outcomes at `now`; no allocation once the instance is known. */
  record(instance: string, successes: number, failures: number, slowCalls: number, now: number): void {
    let window = this.windows.get(instance);
    if (window === undefined) {
      window = new SlidingWindow(this.windowMs, this.buckets);
      this.windows.set(instance, window);
    }
    window.record(successes, failures, slowCalls, now);
    this.total.record(successes, failures, slowCalls, now);
    this.prune(now);
  }

  /** Moves every window to `now`. */
  advance(now: number): void {
    this.total.advance(now);
    for (const window of this.windows.values()) window.advance(now);
  }

  /** The window of one instance (moved to `now`), if it has calls in it. */
  instance(instance: string, now: number): SlidingWindow | undefined {
    const window = this.windows.get(instance);
    window?.advance(now);
    return window?.empty === false ? window : undefined;
  }

  /** Calls `visit` with every instance that has calls in the window at `now`. */
  forEach(now: number, visit: (instance: string, window: SlidingWindow) => void): void {
    for (const [instance, window] of this.windows) {
      window.advance(now);
      if (!window.empty) visit(instance, window);
    }
  }

  /** Drops one instance's own window (it went away); its calls stay in the total. */
  forget(instance: string): void {
    this.windows.delete(instance);
  }

  /** Empties everything (a clean close, a reset). */
  clear(): void {
    this.total.clear();
    this.windows.clear();
  }

  /** The window for a snapshot, as of `now`. */
  toJSON(now: number): FleetWindowJSON {
    const instances: Record<string, SlidingWindowJSON> = {};
    this.forEach(now, (id, window) => {
      instances[id] = window.toJSON(now);
    });
    return { total: this.total.toJSON(now), instances };
  }

  /** Loads a saved window as of `now`. */
  load(json: FleetWindowJSON, now: number): void {
    this.clear();
    this.total.load(json.total, now);
    for (const [id, saved] of Object.entries(json.instances)) {
      const window = new SlidingWindow(this.windowMs, this.buckets);
      window.load(saved, now);
      if (!window.empty) this.windows.set(id, window);
    }
  }

  // Forgets emptied instance windows, at most once per bucket of time.
  private prune(now: number): void {
    if (now < this.nextPrune) return;
    this.nextPrune = now + this.windowMs / this.buckets;
    for (const [instance, window] of this.windows) {
      window.advance(now);
      if (window.empty) this.windows.delete(instance);
    }
  }
}
