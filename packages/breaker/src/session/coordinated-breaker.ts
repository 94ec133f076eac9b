/**
 * One backend's breaker as a process applies it on its request path
 * (design.md "Breakers", "BreakerCoordinator"): the fleet's view from the
 * coordinator combined with the process's own LocalBreaker, so local state is
 * only ever stricter. `admit()` is O(1) and allocates nothing while closed or
 * open; no RPC is ever made or awaited on the request path — reports and probe
 * requests are queued for the session.
 */
import {
  type BreakerConfig,
  type BreakerStateKind,
  type BreakerTransition,
  type BreakerView,
  type Clock,
  fleetStateAt,
  LocalBreaker,
  type Random,
} from "../index.js";
import { type Admission, allowedAdmission, Refusal } from "./admission.js";
import type { BreakerEventListener } from "./breaker-events.js";
import { FleetProbes } from "./fleet-probes.js";
import type { OutcomeBatcher, OutcomeTally } from "./outcome-batcher.js";
import type { ProbeGrantMessage, SessionRequestMessage } from "./session-messages.js";

/** Where a breaker's probe requests and results go (the session link). */
export interface BreakerSessionPort {
  /** Queues a message; false when no session is up. */
  send(message: SessionRequestMessage): boolean;
}

/** What a coordinated breaker is built from (by the breaker client). */
export interface CoordinatedBreakerOptions {
  readonly name: string;
  readonly config: BreakerConfig;
  readonly clock: Clock;
  /** The time outcomes are recorded at (a CoarseClock): window buckets need no finer time. Default: `clock`. */
  readonly recordClock?: Clock | undefined;
  readonly random: Random;
  readonly session: BreakerSessionPort;
  readonly batcher: OutcomeBatcher;
  readonly onEvent: BreakerEventListener;
  /** How long to wait, ± half with jitter, before asking again after a refused probe (default 500 ms). */
  readonly probeRetryMs?: number | undefined;
}

/** Ask again this soon when refused in half-open: a probe decides within a call's time. */
const halfOpenRetryMs = 1_000;

/** A handle on one breaker: `admit()` before each call, `record()` after it. */
export class CoordinatedBreaker {
  readonly name: string;
  readonly config: BreakerConfig;
  private readonly local: LocalBreaker;
  private readonly clock: Clock;
  private readonly recordClock: Clock;
  private readonly batcher: OutcomeBatcher;
  private readonly tally: OutcomeTally;
  private readonly emit: BreakerEventListener;
  private readonly slowMs: number | undefined;
  private readonly halfOpenRefusal: Refusal;
  private readonly unknownRefusal: Refusal;
  private openRefusal: Refusal;
  private readonly probes: FleetProbes;
  private view: BreakerView | undefined;
  private detachedValue = false;
  /** True while the fleet's view can only stand for "closed" as time goes on: admit() then reads no clock. */
  private fleetQuiet = true;

  constructor(options: CoordinatedBreakerOptions) {
    this.name = options.name;
    this.config = options.config;
    this.clock = options.clock;
    this.recordClock = options.recordClock ?? options.clock;
    this.batcher = options.batcher;
    this.emit = options.onEvent;
    this.slowMs = options.config.slowCallMs;
    const name = options.name;
    this.local = new LocalBreaker(
      {
        name,
        config: options.config,
        random: options.random,
        onTransition: (t) => {
          // A reset of a closed local breaker (below) is no change worth telling.
          if (t.from !== t.to)
            this.emit({
              type: "transition",
              breaker: name,
              from: t.from,
              to: t.to,
              source: "local",
              reason: t.reason,
              at: t.at,
            });
        },
      },
      this.clock.now(),
    );
    this.tally = options.batcher.tally(name, () => this.local.locallyOpen);
    this.halfOpenRefusal = new Refusal("half-open", undefined, halfOpenRetryMs, this.clock);
    this.unknownRefusal = new Refusal("open", undefined, options.config.openTimeoutMs, this.clock);
    this.openRefusal = this.unknownRefusal;
    const session = options.session;
    this.probes = new FleetProbes({
      name,
      config: options.config,
      random: options.random,
      send: (m) => session.send(m),
      local: this.local,
      refusal: this.halfOpenRefusal,
      retryMs: options.probeRetryMs ?? 500,
    });
  }

  /**
   * Whether to make a call now. O(1); allocation-free while closed or open.
   * Closed everywhere it reads no clock: time cannot change a closed fleet
   * view (it has no open_until; detached, neither can an open one past it)
   * nor a closed local breaker (it has no timer), and a clock read is most
   * of the cost of a call here (design.md "Stack").
   */
  admit(): Admission {
    if (this.fleetQuiet && this.local.ownMachine.state === "closed") return allowedAdmission;
    const now = this.clock.now();
    if (this.detachedValue && !this.fleetQuiet) this.settleFleet(now);
    if (this.local.admit(now)) return allowedAdmission;
    return this.refuse(now);
  }

  /**
   * Records how an admitted call went: `success` false for a failure of the
   * backend (an answer such as 404 is a success). Calls at or over
   * slow_call_ms count as slow. Pass a probe admission back so its result
   * reaches the coordinator.
   */
  record(success: boolean, durationMs: number, admission?: Admission): void {
    if (admission !== undefined && admission.kind === "probe")
      return this.probes.record(admission, success, this.clock.now());
    const now = this.recordClock.now();
    const slow = this.slowMs !== undefined && durationMs >= this.slowMs;
    if (success) {
      this.local.record(true, durationMs, now);
      this.tally.add(true, slow);
      return;
    }
    const wasClosed = !this.local.locallyOpen;
    this.local.record(false, durationMs, now);
    this.tally.add(false, slow);
    // A burst of failures, or the local breaker just opened: the coordinator hears of it at once.
    if (this.tally.failures >= this.config.consecutiveFailures || (wasClosed && this.local.locallyOpen))
      this.batcher.burst();
  }

  /** The state applied now: the stricter of the fleet's and the local one. */
  state(): BreakerStateKind {
    return this.local.state(this.clock.now());
  }

  /** The coordinator's latest view of this breaker; undefined before the first snapshot. */
  get fleetView(): BreakerView | undefined {
    return this.view;
  }

  /** True while this process's own breaker is not closed (reported as locally_open). */
  get locallyOpen(): boolean {
    return this.local.locallyOpen;
  }

  /** True while the process is cut off from the coordinator. */
  get detached(): boolean {
    return this.detachedValue;
  }

  /** Adopts a session's snapshot: the coordinator's view replaces what was held, whatever its version. */
  adoptSnapshot(view: BreakerView | undefined, now: number): void {
    const before = this.view?.state ?? "closed";
    if (view === undefined) this.local.clearFleetView();
    else this.local.setFleetView(view, { snapshot: true });
    this.view = view;
    this.detachedValue = false;
    this.settleFleet(now);
    this.probes.forget();
    const after = view?.state ?? "closed";
    if (before !== after)
      this.emit({
        type: "transition",
        breaker: this.name,
        from: before,
        to: after,
        source: "fleet",
        reason: "snapshot",
        at: now,
      });
  }

  /**
   * Applies a transition from the coordinator; one older than the view held
   * is ignored. When the fleet closes after successful probes, a closed local
   * breaker forgets the outage's failures still in its window (as the
   * coordinator's own window does), so that the first calls after recovery
   * do not trip it on stale counts. A local breaker that is open stays so.
   */
  applyTransition(t: BreakerTransition): void {
    if (!this.local.setFleetView(t)) return;
    this.view = t;
    this.detachedValue = false;
    this.settleFleet(this.clock.now());
    this.probes.forget();
    if (t.from === "half-open" && t.to === "closed" && !t.forced && this.local.ownMachine.state === "closed") {
      this.local.ownMachine.reset(this.clock.now(), "the fleet closed after successful probes");
    }
    this.emit({
      type: "transition",
      breaker: this.name,
      from: t.from,
      to: t.to,
      source: "fleet",
      reason: t.reason,
      at: t.at,
    });
  }

  /** The coordinator answered our probe request. */
  applyProbeGrant(grant: ProbeGrantMessage, now: number): void {
    this.probes.applyGrant(grant, now);
    this.emit({ type: "probe", breaker: this.name, granted: grant.granted, at: now });
  }

  /** The session stream ended: requests in flight will get no answer. */
  disconnected(): void {
    this.probes.forget();
  }

  /** Cut off for detach_after: known open fleet states hold until they expire; local breakers decide alone. */
  detach(): void {
    this.detachedValue = true;
    this.local.detach();
    this.settleFleet(this.clock.now());
    this.probes.forget();
  }

  private refuse(now: number): Admission {
    // Half-open by the fleet and not open locally: the fleet's probes decide.
    if (fleetStateAt(this.view, now, this.detachedValue) === "half-open" && this.local.ownMachine.state !== "open") {
      return this.probes.admit(now);
    }
    if (this.local.state(now) === "half-open") return this.halfOpenRefusal; // local probes all out
    const ms = this.local.retryAfterMs(now);
    if (ms === undefined) return this.unknownRefusal;
    // One refusal object per open spell: its end does not move while open.
    if (this.openRefusal.retryAt !== now + ms) this.openRefusal = new Refusal("open", now + ms, 0, this.clock);
    return this.openRefusal;
  }

  private settleFleet(now: number): void {
    const v = this.view;
    // Detached, a view stands only for an open state until it expires (fleetStateAt); attached, for its state.
    this.fleetQuiet =
      v === undefined || (this.detachedValue ? fleetStateAt(v, now, true) === "closed" : v.state === "closed");
  }
}
