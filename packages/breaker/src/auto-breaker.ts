/**
 * What a breaker does on its own (design.md "Breakers"), without operators
 * or versions: closed → open when the window crosses a threshold with a
 * quorum of instances; open → half-open once its jittered, doubling open time
 * has passed; half-open → closed after `successThreshold` probe successes, or
 * → open again on one probe failure. No timers: changes due by time happen on
 * the next call that brings a `now`. BreakerMachine layers overrides,
 * versions and events on top.
 */
import { openTimeout } from "./backoff.js";
import type { AutoState } from "./breaker-state.js";
import type { Random } from "./clock.js";
import type { BreakerConfig } from "./config.js";
import { FleetWindow, type FleetWindowJSON } from "./fleet-window.js";
import { type ProbeAnswer, ProbeLeases, type ProbeLeasesJSON } from "./probe-leases.js";
import { quorumTripReason } from "./quorum.js";
import { trips } from "./trip.js";

/** The automatic state as saved in a snapshot. */
export interface AutoBreakerJSON {
  readonly auto: AutoState;
  readonly reopens: number;
  readonly probes: ProbeLeasesJSON;
  readonly window: FleetWindowJSON;
}

/** Called after every change of the automatic state, with why. */
export type AutoChangeListener = (reason: string, now: number) => void;

/** The automatic state machine of one breaker. */
export class AutoBreaker {
  /** The outcomes of every instance in the window. */
  readonly window: FleetWindow;
  private readonly leases = new ProbeLeases();
  private current: AutoState = { kind: "closed" };
  private reopens = 0;

  constructor(
    private readonly config: BreakerConfig,
    private readonly random: Random,
    private readonly onChange: AutoChangeListener,
  ) {
    this.window = new FleetWindow(config);
  }

  /** The automatic state (as of the last call). */
  get state(): AutoState {
    return this.current;
  }
  /** Re-opens since the last clean close (the open time doubles on each). */
  get reopenCount(): number {
    return this.reopens;
  }
  /** Probe permits out (as of the last call). */
  get probesInFlight(): number {
    return this.current.kind === "half-open" ? this.leases.size : 0;
  }
  /** The next time a change falls due by time alone: open time over or a lease lapsing. */
  get nextChangeAt(): number {
    const leaseEnds = this.leases.list().map((p) => p.expiresAt);
    return Math.min(this.current.kind === "open" ? this.current.openUntil : Infinity, ...leaseEnds);
  }

  /** Applies what is due by `now`. O(1), allocation-free when nothing is due. */
  tick(now: number): void {
    const state = this.current;
    switch (state.kind) {
      case "closed":
        return;
      case "open":
        if (now >= state.openUntil) this.enter({ kind: "half-open", successes: 0 }, "open time over; probing", now);
        return;
      case "half-open":
        this.leases.expire(now);
        return;
      default:
        unreachable(state);
    }
  }

  /**
   * Adds outcomes of `instance` at `now` and, when `evaluate` (no override
   * holds) and closed, opens if the window trips with a quorum. Outcomes
   * while open or half-open are counted but move nothing: probes decide.
   */
  record(instance: string, successes: number, failures: number, slow: number, now: number, evaluate: boolean): void {
    this.window.record(instance, successes, failures, slow, now);
    // trips() first: the quorum count walks the instances, the hot path must not.
    if (!evaluate || this.current.kind !== "closed" || !trips(this.window.total, this.config)) return;
    const reason = quorumTripReason(this.window, this.config, now);
    if (reason !== undefined) this.open(reason, now);
  }

  /** Grants a probe permit while half-open (at most halfOpenMaxProbes out); refuses otherwise. */
  acquireProbe(holder: string, now: number): ProbeAnswer {
    const state = this.current;
    if (state.kind === "closed") return { granted: false, why: "closed", retryAfterMs: undefined };
    if (state.kind === "open") return { granted: false, why: "open", retryAfterMs: state.openUntil - now };
    return this.leases.acquire(holder, this.config.halfOpenMaxProbes, now, this.config.probeLeaseMs);
  }

  /** Takes a permit back with its outcome; false (no effect) for one unknown, lapsed or of an earlier spell. */
  completeProbe(permitId: string, success: boolean, now: number): boolean {
    const state = this.current;
    if (state.kind !== "half-open" || !this.leases.release(permitId, now)) return false;
    if (!success) {
      this.reopens++;
      this.open("probe failed", now);
    } else if (state.successes + 1 < this.config.successThreshold) {
      this.current = { kind: "half-open", successes: state.successes + 1 };
    } else {
      this.reset();
      this.onChange(`${state.successes + 1} probes succeeded`, now);
    }
    return true;
  }

  /** Closes cleanly: window, backoff and permits cleared. The caller reports the change. */
  reset(): void {
    this.current = { kind: "closed" };
    this.reopens = 0;
    this.window.clear();
    this.leases.clear();
  }

  /** The automatic state for a snapshot, as of `now`. */
  toJSON(now: number): AutoBreakerJSON {
    return { auto: this.current, reopens: this.reopens, probes: this.leases.toJSON(), window: this.window.toJSON(now) };
  }

  /** Loads saved automatic state (already checked) as of `now`. */
  load(saved: AutoBreakerJSON, now: number): void {
    this.current = saved.auto;
    this.reopens = saved.reopens;
    this.leases.load(saved.probes);
    this.window.load(saved.window, now);
  }

  private open(reason: string, now: number): void {
    const ms = openTimeout(this.reopens, this.config, this.random);
    this.enter({ kind: "open", openUntil: now + ms }, `${reason}; open for ${ms} ms`, now);
  }

  private enter(state: AutoState, reason: string, now: number): void {
    this.current = state;
    this.leases.clear();
    this.onChange(reason, now);
  }
}

function unreachable(value: never): never {
  throw new Error(`unexpected breaker state ${JSON.stringify(value)}`);
}
