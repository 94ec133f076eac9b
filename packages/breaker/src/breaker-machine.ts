/**
 * One breaker as the coordinator holds it (design.md "Breakers"): the
 * automatic state machine (AutoBreaker) plus operators' overrides, a version
 * that grows by one on every transition, since / reason / open-until, the
 * transition events, and snapshots. No timers: time passes only through the
 * `now` each call brings, and changes that fell due happen on the next call.
 */
import { AutoBreaker } from "./auto-breaker.js";
import type { BreakerStateKind, BreakerView, TransitionListener } from "./breaker-state.js";
import type { Random } from "./clock.js";
import { type BreakerConfig, createBreakerConfig } from "./config.js";
import { checkCounts, type FleetOutcomes, type OutcomeCounts } from "./fleet-window.js";
import { type BreakerMachineJSON, parseBreakerMachineJSON } from "./machine-snapshot.js";
import { createOverride, type ForceMode, type ForceOptions, type Override } from "./override.js";
import type { ProbeAnswer } from "./probe-leases.js";

/** What a breaker machine is built from. */
export interface BreakerMachineOptions {
  /** The breaker's name: `s3:<endpoint>`, `cache-store:<address>`. */
  readonly name: string;
  /** Its config (createBreakerConfig, or a BreakerConfigSet's resolveConfig); checked again here. */
  readonly config: BreakerConfig;
  /** Jitter source in [0, 1); defaults to Math.random. */
  readonly random?: Random | undefined;
  /** Receives every transition; libraries do not log, apps do. */
  readonly onTransition?: TransitionListener | undefined;
}

/** The breaker of one backend, fed by every instance's outcomes, steered by operators. */
export class BreakerMachine {
  readonly name: string;
  readonly config: BreakerConfig;
  private readonly listener: TransitionListener | undefined;
  private readonly auto: AutoBreaker;
  private forcedBy: Override | undefined;
  private versionValue = 0;
  private sinceValue: number;
  private reasonValue = "new breaker";
  // The state and forcedness last announced: transitions are measured against them.
  private shown: BreakerStateKind = "closed";
  private shownForced = false;

  /** A closed breaker, created at `now`. A config that does not hold throws a RangeError naming the value. */
  constructor(options: BreakerMachineOptions, now: number) {
    this.name = options.name;
    this.config = createBreakerConfig(options.config);
    this.listener = options.onTransition;
    this.auto = new AutoBreaker(this.config, options.random ?? Math.random, (reason, at) => this.settle(reason, at));
    this.sinceValue = now;
  }

  /** The effective state: an override's, else the automatic one. */
  get state(): BreakerStateKind {
    return this.forcedBy?.mode ?? this.auto.state.kind;
  }
  /** Grows by one on every transition, never goes back (restores included). */
  get version(): number {
    return this.versionValue;
  }
  /** When the current state was entered. */
  get since(): number {
    return this.sinceValue;
  }
  /** Why the breaker is in its state, e.g. "failure rate 0.62 ≥ 0.5 over 13 calls; open for 30000 ms". */
  get reason(): string {
    return this.reasonValue;
  }
  /** While open: when it turns half-open, or when a forced open lapses (undefined: until lifted). */
  get openUntil(): number | undefined {
    if (this.forcedBy !== undefined) return this.forcedBy.mode === "open" ? this.forcedBy.expiresAt : undefined;
    const auto = this.auto.state;
    return auto.kind === "open" ? auto.openUntil : undefined;
  }
  /** The operator's override in effect, if any. */
  get override(): Override | undefined {
    return this.forcedBy;
  }
  /** Re-opens since the last clean close (the open time doubles on each). */
  get reopenCount(): number {
    return this.auto.reopenCount;
  }
  /** Successful probes counted toward closing while half-open. */
  get halfOpenSuccesses(): number {
    const auto = this.auto.state;
    return auto.kind === "half-open" ? auto.successes : 0;
  }
  /** The outcomes in the window, for reading (operators, quorum listings). */
  get outcomes(): FleetOutcomes {
    return this.auto.window;
  }

  /**
   * The next time a change falls due by time alone (open time over, override
   * or probe lease lapsing): a coordinator wakes then and calls `tick`, so
   * that instances hear of it promptly. Undefined when nothing is due.
   */
  get nextChangeAt(): number | undefined {
    const next = Math.min(this.auto.nextChangeAt, this.forcedBy?.expiresAt ?? Infinity);
    return next === Infinity ? undefined : next;
  }

  /**
   * Applies the changes due by `now` (open → half-open, lapsed overrides and leases). O(1), allocation-free if none.
   */
  tick(now: number): void {
    this.auto.tick(now);
    const o = this.forcedBy;
    if (o?.expiresAt !== undefined && now >= o.expiresAt) {
      this.forcedBy = undefined;
      this.settle(`forced ${o.mode} lapsed (${o.reason})`, now);
    }
  }

  /** Records one call of `instance`; the local breaker's hot path (no allocation unless it trips). */
  recordOutcome(instance: string, success: boolean, slow: boolean, now: number): void {
    this.tick(now);
    this.auto.record(instance, success ? 1 : 0, success ? 0 : 1, slow ? 1 : 0, now, this.forcedBy === undefined);
  }

  /** Records a batch of outcomes `instance` reported; malformed counts throw a RangeError naming the value. */
  record(instance: string, counts: OutcomeCounts, now: number): void {
    checkCounts(counts);
    this.tick(now);
    this.auto.record(
      instance,
      counts.successes,
      counts.failures,
      counts.slowCalls ?? 0,
      now,
      this.forcedBy === undefined,
    );
  }

  /** Asks for a half-open trial permit for `holder`; at most halfOpenMaxProbes are out at once, fleet-wide. */
  acquireProbe(holder: string, now: number): ProbeAnswer {
    this.tick(now);
    const o = this.forcedBy;
    if (o === undefined) return this.auto.acquireProbe(holder, now);
    const retryAfterMs = o.mode === "open" && o.expiresAt !== undefined ? o.expiresAt - now : undefined;
    return { granted: false, why: o.mode, retryAfterMs };
  }

  /**
   * Returns a permit with its outcome: success counts toward closing, failure
   * re-opens with a doubled open time. False (and no effect) for a permit
   * unknown, lapsed or from an earlier half-open spell, or under an override.
   */
  completeProbe(permitId: string, success: boolean, now: number): boolean {
    this.tick(now);
    return this.forcedBy === undefined && this.auto.completeProbe(permitId, success, now);
  }

  /** An operator's override: "open" or "closed" with a reason and an optional ttl; "auto" lifts it. */
  force(mode: ForceMode, options: ForceOptions, now: number): void {
    const override = mode === "auto" ? undefined : createOverride(mode, options, now);
    this.tick(now);
    if (override === undefined && this.forcedBy === undefined) return;
    this.forcedBy = override;
    // Every force is announced, even one that keeps the state; lifting one is a change of forcedness.
    this.settle(override?.reason ?? (options.reason || "override lifted"), now, override !== undefined);
  }

  /** Closes the breaker, lifting any override and clearing its window and backoff; always announced. */
  reset(now: number, reason = "reset by an operator"): void {
    this.forcedBy = undefined;
    this.auto.reset();
    this.settle(reason, now, true);
  }

  /** Drops an instance's own window (it went away); its calls stay in the total. */
  forgetInstance(instance: string): void {
    this.auto.window.forget(instance);
  }

  /** Probe permits out at `now`. */
  probesInFlight(now: number): number {
    this.tick(now);
    return this.forcedBy === undefined ? this.auto.probesInFlight : 0;
  }

  /** The view instances admit calls from, at `now`. */
  view(now: number): BreakerView {
    this.tick(now);
    const forced = this.forcedBy !== undefined;
    return { name: this.name, state: this.state, version: this.versionValue, openUntil: this.openUntil, forced };
  }

  /** The machine for a snapshot file, as of `now`. */
  toJSON(now: number): BreakerMachineJSON {
    const { name, versionValue: version, sinceValue: since, reasonValue: reason } = this;
    return { name, version, since, reason, override: this.forcedBy ?? null, ...this.auto.toJSON(now) };
  }

  /**
   * A machine as saved by `toJSON`: forced and open breakers come back as
   * they were (times are absolute, so an open one keeps what is left of its
   * open time), then changes due by `now` apply and the version goes on.
   * A malformed snapshot throws a BreakerSnapshotError naming the bad value.
   */
  static restore(json: unknown, options: Omit<BreakerMachineOptions, "name">, now: number): BreakerMachine {
    const saved = parseBreakerMachineJSON(json);
    const machine = new BreakerMachine({ ...options, name: saved.name }, saved.since);
    machine.versionValue = saved.version;
    machine.reasonValue = saved.reason;
    machine.forcedBy = saved.override ?? undefined;
    machine.auto.load(saved, now);
    machine.shown = machine.state;
    machine.shownForced = machine.forcedBy !== undefined;
    machine.tick(now);
    return machine;
  }

  // Announces a transition (version + 1, event) when the effective state or
  // its forcedness differs from the last announced, or `always`.
  private settle(reason: string, now: number, always = false): void {
    const to = this.state;
    const forced = this.forcedBy !== undefined;
    if (!always && to === this.shown && forced === this.shownForced) return;
    const from = this.shown;
    this.shown = to;
    this.shownForced = forced;
    const version = ++this.versionValue;
    this.sinceValue = now;
    this.reasonValue = reason;
    this.listener?.({
      name: this.name,
      from,
      to,
      state: to,
      version,
      openUntil: this.openUntil,
      forced,
      reason,
      at: now,
    });
  }
}
