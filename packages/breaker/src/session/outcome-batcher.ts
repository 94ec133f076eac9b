/**
 * Outcome counts on their way to the coordinator (design.md
 * "BreakerCoordinator"): recorded into per-breaker tallies without
 * allocating, reported at most every `intervalMs` (100 ms), at once when
 * failures burst, and as an empty report (a heartbeat) when nothing else
 * went out for a heartbeat interval. While no session is up the tallies keep
 * counting; the first report of the next session carries what was seen.
 */
import type { Clock } from "../index.js";
import type { ReportedCount } from "./session-messages.js";
import { maxCount } from "./session-proto.js";
import type { SessionTimers, TimerHandle } from "./timers.js";

/** What an outcome batcher is built from. */
export interface OutcomeBatcherOptions {
  readonly clock: Clock;
  readonly timers: SessionTimers;
  /** Reports go out at most this often (default 100 ms), bursts aside. */
  readonly intervalMs?: number | undefined;
  /** The least time between two reports, bursts included (default 10 ms). */
  readonly burstGapMs?: number | undefined;
  /** Sends a report; false when it could not go out (the counts are kept). */
  readonly send: (counts: readonly ReportedCount[]) => boolean;
}

/** One breaker's outcomes since its last report. Plain counters: `add` allocates nothing. */
export class OutcomeTally {
  successes = 0;
  failures = 0;
  slowCalls = 0;
  /** What the coordinator was last told of locally_open; undefined: tell it on the next report. */
  reportedLocallyOpen: boolean | undefined = undefined;

  constructor(
    readonly breaker: string,
    /** Reads the local breaker's locally_open at report time. */
    readonly locallyOpen: () => boolean,
    private readonly batcher: OutcomeBatcher,
  ) {}

  /** Counts one outcome and makes sure a report is due. */
  add(success: boolean, slow: boolean): void {
    if (success) this.successes++;
    else this.failures++;
    if (slow) this.slowCalls++;
    this.batcher.due();
  }
}

/** The tallies of one process and the timers that send them. */
export class OutcomeBatcher {
  private readonly options: OutcomeBatcherOptions;
  private readonly intervalMs: number;
  private readonly burstGapMs: number;
  private readonly tallies: OutcomeTally[] = [];
  private live = false;
  private heartbeatMs = 1_000;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private flushTimer: TimerHandle | undefined;
  private flushAt = Number.POSITIVE_INFINITY;
  private heartbeatTimer: TimerHandle | undefined;

  constructor(options: OutcomeBatcherOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs ?? 100;
    this.burstGapMs = options.burstGapMs ?? 10;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be greater than 0, got ${this.intervalMs}`);
    if (!(this.burstGapMs >= 0)) throw new RangeError(`burstGapMs must be ≥ 0, got ${this.burstGapMs}`);
  }

  /** A tally for `breaker`, reported from now on. */
  tally(breaker: string, locallyOpen: () => boolean): OutcomeTally {
    const t = new OutcomeTally(breaker, locallyOpen, this);
    this.tallies.push(t);
    return t;
  }

  /** True while reports can go out (a session is up). */
  get sending(): boolean {
    return this.live;
  }

  /** Something was counted: a report goes out within intervalMs of the previous one. */
  due(): void {
    if (this.live && this.flushTimer === undefined) this.schedule(this.lastSentAt + this.intervalMs);
  }

  /** Failures burst (or a local breaker just opened): report now, or as soon as burstGapMs allows. */
  burst(): void {
    if (!this.live) return;
    const at = this.lastSentAt + this.burstGapMs;
    if (this.flushTimer !== undefined && this.flushAt <= Math.max(at, this.options.clock.now())) return;
    this.schedule(at);
  }

  /**
   * A session is up: report everything now (counts kept while none was, and
   * every breaker's locally_open for the new session), then heartbeats
   * every `heartbeatMs`.
   */
  start(heartbeatMs: number): void {
    if (!(heartbeatMs > 0)) throw new RangeError(`heartbeatMs must be greater than 0, got ${heartbeatMs}`);
    this.live = true;
    this.heartbeatMs = heartbeatMs;
    for (const t of this.tallies) t.reportedLocallyOpen = undefined;
    this.flush(true);
  }

  /** The session is gone: nothing is sent, counts keep accumulating. */
  stop(): void {
    this.live = false;
    this.cancel("flushTimer");
    this.cancel("heartbeatTimer");
  }

  /** Sends what is pending; `heartbeat` sends even an empty report. */
  flush(heartbeat = false): void {
    this.cancel("flushTimer");
    if (!this.live) return;
    const counts: ReportedCount[] = [];
    const from: OutcomeTally[] = [];
    for (const t of this.tallies) {
      const locallyOpen = t.locallyOpen();
      if (t.successes + t.failures === 0 && locallyOpen === t.reportedLocallyOpen) continue;
      counts.push({
        breaker: t.breaker,
        successes: Math.min(t.successes, maxCount),
        failures: Math.min(t.failures, maxCount),
        slowCalls: Math.min(t.slowCalls, maxCount),
        locallyOpen,
      });
      from.push(t);
    }
    if (counts.length === 0 && !heartbeat) return;
    if (!this.options.send(counts)) return;
    for (let i = 0; i < counts.length; i++) {
      const t = from[i]!;
      const c = counts[i]!;
      t.successes -= c.successes;
      t.failures -= c.failures;
      t.slowCalls -= c.slowCalls;
      t.reportedLocallyOpen = c.locallyOpen;
    }
    this.lastSentAt = this.options.clock.now();
    // More than a uint32 of counts waits for the next report.
    if (this.tallies.some((t) => t.successes + t.failures > 0)) this.due();
    this.cancel("heartbeatTimer");
    this.heartbeatTimer = this.options.timers.setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.flush(true);
    }, this.heartbeatMs);
  }

  /** Stops every timer for good. */
  close(): void {
    this.stop();
  }

  private schedule(at: number): void {
    this.cancel("flushTimer");
    const now = this.options.clock.now();
    const delay = Math.max(0, at - now);
    this.flushAt = now + delay;
    this.flushTimer = this.options.timers.setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, delay);
  }

  private cancel(timer: "flushTimer" | "heartbeatTimer"): void {
    const handle = this[timer];
    if (handle === undefined) return;
    this.options.timers.clearTimeout(handle);
    this[timer] = undefined;
    if (timer === "flushTimer") this.flushAt = Number.POSITIVE_INFINITY;
  }
}
